import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The Prometheus metrics of one app (one `Registry` per app, so tests can run several).
 * Labels never carry secrets: only source, resource, target names, event types, statuses.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly passTotal = new Counter({ name: "retrohook_passes_total", help: "Passes run, by outcome (ok, failed, blocked).", labelNames: ["source", "resource", "mode", "outcome"], registers: [this.registry] });
  readonly passDuration = new Histogram({ name: "retrohook_pass_duration_seconds", help: "Duration of passes.", labelNames: ["source", "mode"], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry] });
  readonly lastSuccess = new Gauge({ name: "retrohook_last_successful_pass_timestamp_seconds", help: "Unix time of the last successful pass.", labelNames: ["source", "resource"], registers: [this.registry] });
  readonly requests = new Counter({ name: "retrohook_source_requests_total", help: "Requests to sources, by HTTP status (0 = no response).", labelNames: ["source", "status"], registers: [this.registry] });
  readonly recordsSeen = new Counter({ name: "retrohook_records_seen_total", help: "Records listed by sources.", labelNames: ["source", "resource"], registers: [this.registry] });
  readonly eventsDetected = new Counter({ name: "retrohook_events_detected_total", help: "Events written to the outbox, by type.", labelNames: ["source", "resource", "type"], registers: [this.registry] });
  readonly eventsDropped = new Counter({ name: "retrohook_events_dropped_total", help: "Events a pass staged that never reached the outbox, by reason: pass-bound (the pass, or one stopped before it, went past its bound), resource-removed (the resource left the config before a pass released them).", labelNames: ["source", "resource", "reason"], registers: [this.registry] });
  readonly passErrors = new Counter({ name: "retrohook_pass_errors_total", help: "Failed passes, by cause.", labelNames: ["source", "resource", "cause"], registers: [this.registry] });
  readonly passRunning = new Gauge({ name: "retrohook_pass_running_seconds", help: "How long the pass running now has run (0 when none runs); a pass over 30 min makes /readyz answer 503.", labelNames: ["source"], registers: [this.registry] });
  readonly ticksSkipped = new Gauge({ name: "retrohook_ticks_skipped", help: "Incremental ticks skipped in a row because the previous pass was still running.", labelNames: ["source"], registers: [this.registry] });
  readonly budgetUsed = new Gauge({ name: "retrohook_budget_used_requests", help: "Requests spent in the current budget period.", labelNames: ["source"], registers: [this.registry] });
  readonly budgetLeft = new Gauge({ name: "retrohook_budget_left_requests", help: "Requests left in the current budget period.", labelNames: ["source"], registers: [this.registry] });
  readonly suspended = new Gauge({ name: "retrohook_suspended", help: "1 while a source (resource empty) or resource is suspended.", labelNames: ["source", "resource"], registers: [this.registry] });
  readonly heldDeletions = new Gauge({ name: "retrohook_held_deletions", help: "Deletions held by max_delete_min / max_delete_ratio, awaiting reset --accept-deletes.", labelNames: ["source", "resource"], registers: [this.registry] });
  readonly deliveries = new Counter({ name: "retrohook_deliveries_total", help: "Delivery attempts, by outcome (delivered, retry, dead, failed), and events routing did not send: filtered (the target's filter said no) or dead (its filter or transform failed).", labelNames: ["target", "outcome"], registers: [this.registry] });
  readonly deliveryLatency = new Histogram({ name: "retrohook_delivery_latency_seconds", help: "Time of one delivery attempt.", labelNames: ["target"], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: "retrohook_outbox_pending", help: "Deliveries pending per target.", labelNames: ["target"], registers: [this.registry] });
  readonly oldestPending = new Gauge({ name: "retrohook_outbox_oldest_pending_age_seconds", help: "Age of the oldest pending delivery per target.", labelNames: ["target"], registers: [this.registry] });
  readonly deadLetters = new Gauge({ name: "retrohook_dead_letters", help: "Dead letters kept per target.", labelNames: ["target"], registers: [this.registry] });
  readonly leasesHeld = new Gauge({ name: "retrohook_leases_held", help: "Source leases this replica holds (replicas only).", registers: [this.registry] });
  readonly leaseGrants = new Counter({ name: "retrohook_lease_grants_total", help: "Source leases granted to this replica (replicas only).", registers: [this.registry] });
  readonly leaseTakeovers = new Counter({ name: "retrohook_lease_takeovers_total", help: "Source leases this replica took over from another replica (replicas only).", registers: [this.registry] });
  readonly leasesLost = new Counter({ name: "retrohook_leases_lost_total", help: "Source leases this replica lost without releasing them: not renewed in time (replicas only).", registers: [this.registry] });
  readonly fencingRejections = new Counter({ name: "retrohook_fencing_rejections_total", help: "State writes the database refused because their lease token was no longer current (replicas only).", labelNames: ["source"], registers: [this.registry] });
  readonly replicasLive = new Gauge({ name: "retrohook_replicas_live", help: "Live replicas this replica sees (replicas only).", registers: [this.registry] });
  readonly stateBytes = new Gauge({ name: "retrohook_state_bytes", help: "Bytes of state per kind (snapshots, events, fixed_bodies, pending, dead_letters, delivery_log, pass_journal, other), measured after retention sweeps.", labelNames: ["kind"], registers: [this.registry] });
  readonly pruned = new Counter({ name: "retrohook_pruned_total", help: "Entries removed by state.retention, by kind.", labelNames: ["kind"], registers: [this.registry] });
  readonly breakerOpen = new Gauge({ name: "retrohook_target_paused", help: "1 while a target is paused (breaker open or operator pause).", labelNames: ["target", "by"], registers: [this.registry] });
}
