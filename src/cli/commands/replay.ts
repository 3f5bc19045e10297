import type { Config } from "../../config/types.js";
import { EXIT_OK, UsageError } from "../../errors.js";
import { replayDeadLetters, replayEvent, type ReplayResult } from "../../server/actions.js";
import { AdminClient, daemonHoldsState } from "../../server/daemon-client.js";
import { openStateStore, stateNotCreated } from "../../store/open.js";
import { configFor } from "../io.js";
import type { Command } from "./command.js";

export const replayCommand: Command = {
  name: "replay",
  summary: "deliver an event again, or every dead letter (of one target); ids are kept",
  help: `Usage: retrohook replay (--event ID | --dead-letters) [--target NAME] [--to NAME] [-c FILE]

  --event ID       one event: its dead letters go back to pending; without dead letters, a new
                   delivery goes to --target, or to every target its type and source route to
  --dead-letters   every dead letter of every target, or only of --target
  --target NAME    limit to this target
  --to NAME        with --dead-letters --target OLD: send OLD's dead letters to the configured
                   target NAME instead (OLD may be a target renamed or removed from the config,
                   whose pending deliveries were moved to dead letters)

The event id is kept (receivers deduplicate by webhook-id). While the daemon runs, this asks
its admin API and the daemon delivers at once; otherwise the state file is changed and the
next \`run\` or \`once\` delivers. Exit 1 when the event is unknown; no dead letters to
replay is not an error.
`,
  options: { event: { type: "string" }, "dead-letters": { type: "boolean" }, target: { type: "string" }, to: { type: "string" } },
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    const eventId = values.event as string | undefined;
    const deadLetters = values["dead-letters"] === true;
    const target = values.target as string | undefined;
    const to = values.to as string | undefined;
    if (Boolean(eventId) === deadLetters) throw new UsageError("give exactly one of --event ID and --dead-letters");
    const configured = `configured: ${config.targets.map((t) => t.name).join(", ") || "none"}`;
    if (to !== undefined) {
      if (!deadLetters || !target) throw new UsageError("--to goes with --dead-letters --target OLD (the target whose dead letters to send on)");
      if (!config.targets.some((t) => t.name === to)) throw new UsageError(`--to ${to}: no such target (${configured})`);
    } else if (target && !config.targets.some((t) => t.name === target)) {
      throw new UsageError(`--target ${target}: no such target (${configured}); for the dead letters of a removed target add --to NEW`);
    }
    const { result, daemon } = await replay(config, eventId, target, to);
    const what = eventId ? `event ${eventId}` : `dead letters${target ? ` of ${target}` : ""}`;
    if (result.requeued === 0) {
      io.err(`nothing to replay: no ${what}\n`);
      return EXIT_OK;
    }
    io.out(
      `replayed ${what}: ${result.requeued} deliver${result.requeued === 1 ? "y" : "ies"} queued for ${result.targets.join(", ")}${daemon ? "; the daemon delivers them now" : "; the next run or once delivers them"}\n`,
    );
    return EXIT_OK;
  },
};

async function replay(config: Config, eventId: string | undefined, target: string | undefined, to: string | undefined): Promise<{ result: ReplayResult; daemon: boolean }> {
  if (await daemonHoldsState(config.state.url)) {
    const client = new AdminClient(config);
    const body = { ...(target ? { target } : {}), ...(to ? { to } : {}) };
    const result = eventId
      ? await client.request<ReplayResult>("POST", `/api/events/${encodeURIComponent(eventId)}/replay`, body)
      : await client.request<ReplayResult>("POST", "/api/dead-letters/replay", body);
    return { result, daemon: true };
  }
  const missing = stateNotCreated(config.state.url);
  if (missing) throw new Error(`${missing}: nothing has run yet`);
  const store = await openStateStore(config.state.url);
  try {
    const context = { config, store, now: Date.now() };
    const result = eventId ? await replayEvent(context, eventId, target) : await replayDeadLetters(context, target, to);
    return { result, daemon: false };
  } finally {
    await store.close();
  }
}
