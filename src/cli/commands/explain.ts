import { secretValues } from "../../config/secrets.js";
import type { Config } from "../../config/types.js";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../../errors.js";
import type { ExplainedEvent, FieldChange, TimelineItem } from "../../core/explain.js";
import { AdminApiError, AdminClient, daemonHoldsState } from "../../server/daemon-client.js";
import { explainEventById, explainRecordAt, parseRecordAddress, type ExplainResult } from "../../server/explain.js";
import { HttpError } from "../../server/http.js";
import { PASS_HISTORY_LIMIT } from "../../store/store.js";
import { scrubSecrets } from "../../telemetry/logger.js";
import { configFor, type Io } from "../io.js";
import { readStateFile } from "../state-file.js";
import type { Command } from "./command.js";

export const explainCommand: Command = {
  name: "explain",
  summary: "why a record fired, or why it did not: its passes, changes, events, routing and deliveries",
  help: `Usage: retrohook explain SOURCE/RESOURCE/RECORD_ID [--json] [-c FILE]
       retrohook explain --event EVENT_ID [--json] [-c FILE]

The record's timeline: every pass in the journal that saw it (time, incremental or reconcile),
each event minted (which rule, which fields changed, before → after), the targets it was routed
to or not (and why), and every delivery attempt with its outcome. Then why an expected event
did not fire: a silent baseline, an unchanged fingerprint, only ignore_fields changed, a
transition that was already true, not listed since, a deletion awaiting confirmation or held
by the mass-deletion guard, a suspended, backing-off or out-of-budget source, a pruned event.
Records with a kind are written SOURCE/RESOURCE/KIND:ID. The pass journal keeps the last
${PASS_HISTORY_LIMIT} passes per resource.

  --event ID   the record of this event, with the event in focus
  --json       the same as JSON (the admin API's GET /api/explain)

While the daemon runs, this asks its admin API; otherwise it reads the state file without
changing it. Exit 1 when the record or event is unknown to the config or the state.
`,
  options: { event: { type: "string" }, json: { type: "boolean" } },
  positionals: ["SOURCE/RESOURCE/RECORD_ID"],
  async run(values, io, positionals = []) {
    const config = configFor(values.config as string | undefined, io);
    const eventId = values.event as string | undefined;
    const address = positionals[0];
    if (Boolean(eventId) === Boolean(address) || positionals.length > 1) throw new UsageError("give exactly one of SOURCE/RESOURCE/RECORD_ID and --event ID");
    let view: ExplainResult;
    try {
      view = await readExplain(config, io, address, eventId);
    } catch (error) {
      if (error instanceof HttpError || error instanceof AdminApiError) {
        io.err(`retrohook explain: ${error.message}\n`);
        return EXIT_FAILURE;
      }
      throw error;
    }
    // Events and errors kept in state quote vendors' answers: scrubbed as the admin API does.
    io.out(scrubSecrets(values.json ? `${JSON.stringify(view, null, 2)}\n` : renderExplain(view), secretValues(config)));
    return EXIT_OK;
  },
};

async function readExplain(config: Config, io: Io, address: string | undefined, eventId: string | undefined): Promise<ExplainResult> {
  const parsed = address ? parseRecordAddress(address) : undefined;
  if (await daemonHoldsState(config.state.url)) {
    const query = parsed
      ? new URLSearchParams({ source: parsed.source, resource: parsed.resource, id: parsed.id, ...(parsed.kind ? { kind: parsed.kind } : {}) })
      : new URLSearchParams({ event: eventId! });
    return new AdminClient(config, 15_000).request<ExplainResult>("GET", `/api/explain?${query.toString()}`);
  }
  return readStateFile(config, io, (view) => (parsed ? explainRecordAt(view, parsed) : explainEventById(view, eventId!)));
}

/** The explanation for people: the record, its timeline, then the reasons. */
export function renderExplain(view: ExplainResult): string {
  const r = view.record;
  const lines: string[] = [];
  const name = `${r.source}/${r.resource}/${r.kind ? `${r.kind}:` : ""}${r.id}`;
  const state = r.state === "unknown" ? "not in state" : `${r.state}, version ${r.version}`;
  lines.push(`${name} — ${state}${view.firstSeen ? `; first seen ${view.firstSeen}` : ""}${view.lastSeen ? `; last seen ${view.lastSeen}` : ""}`);
  if (view.focus) lines.push(`event in focus: ${view.focus}`);
  lines.push("", "Timeline");
  if (view.timeline.length === 0) lines.push("  (nothing in the journal or the event log for this record)");
  for (const item of view.timeline) lines.push(...timelineLines(item, view.focus));
  lines.push("", "Why not");
  if (view.whyNot.length === 0) lines.push("  nothing held back: every change seen became an event");
  for (const reason of view.whyNot) lines.push(`  - [${reason.reason}] ${reason.text}`);
  lines.push("", `Pass journal: ${view.journal.passes} passes${view.journal.since ? ` since ${view.journal.since}` : ""} (the last ${PASS_HISTORY_LIMIT} per resource are kept)`);
  return `${lines.join("\n")}\n`;
}

function timelineLines(item: TimelineItem, focus: string | undefined): string[] {
  if (item.kind === "pass") {
    const what = item.saw === "listed" ? "listed it" : "complete listing";
    const extra = item.firstRun ? ", first pass (baseline)" : "";
    const ignored = item.ignoredFields ? `; only ignore_fields changed: ${item.ignoredFields.join(", ")}` : "";
    return [`  ${item.at}  pass ${item.mode} (${what}${extra})${item.ok ? "" : ` FAILED: ${item.error ?? ""}`}${ignored}`];
  }
  return eventLines(item.event, focus);
}

function eventLines(event: ExplainedEvent, focus: string | undefined): string[] {
  const marker = event.id === focus ? " ◀" : "";
  if (event.pruned) return [`  ${"(pruned)".padEnd(24)}  event ${event.id}: pruned by state.retention.events${marker}`];
  const lines = [`  ${event.detectedAt}  event ${event.type} ${event.id}${marker}`, `      why: ${event.why}`];
  for (const change of event.changes) lines.push(`      ${changeText(change)}`);
  for (const miss of event.notFired) lines.push(`      not fired: ${miss.text}`);
  for (const route of event.routing) {
    const attempts = event.attempts.filter((a) => a.target === route.target);
    const pending = event.pending.find((p) => p.target === route.target);
    const dead = event.deadLetters.find((d) => d.target === route.target);
    lines.push(`      → ${route.target}: ${route.why}`);
    for (const a of attempts) {
      lines.push(`          ${a.at} attempt ${a.attempt}: ${a.outcome}${a.status !== undefined ? ` HTTP ${a.status}` : ""}${a.latencyMs !== undefined ? ` (${a.latencyMs} ms)` : ""}${a.error ? ` — ${a.error}` : ""}`);
    }
    if (pending) lines.push(`          pending: next attempt ${pending.nextAttemptAt}${pending.lastError ? ` (last error: ${pending.lastError})` : ""}`);
    if (dead) lines.push(`          dead letter since ${dead.at}: ${dead.reason} (retrohook replay --event ${event.id})`);
  }
  return lines;
}

function changeText(change: FieldChange): string {
  return `${change.field}: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`;
}
