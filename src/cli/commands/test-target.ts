import { systemClock } from "../../clock.js";
import { secretValues } from "../../config/secrets.js";
import { Dispatcher } from "../../delivery/dispatcher.js";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../../errors.js";
import { sendTestEvent } from "../../server/actions.js";
import { openStateStore } from "../../store/open.js";
import { createLogger, scrubSecrets } from "../../telemetry/logger.js";
import { transportOf } from "../../transports/index.js";
import { configFor } from "../io.js";
import type { Command } from "./command.js";
import { describePreview, previewTarget, sampleForPreview, storedEventForPreview, type TargetPreview } from "./target-preview.js";

export const testTargetCommand: Command = {
  name: "test-target",
  summary: "send one signed retrohook.test event to a target and print its answer (HTTP or broker)",
  help: `Usage: retrohook test-target NAME [--event ID | --sample TYPE] [-c FILE]

Sends one \`retrohook.test\` event (resource, kind and record_id null) to the target, in its
format, signed with its secret, straight away — outside the outbox, nothing is stored, and it
works whether or not the daemon runs. Prints the response status, or for a broker target
what the broker said (the JetStream ack, the publisher confirm, the stream entry id, or why not).

  --event ID      instead, a stored event (state is only read)
  --sample TYPE   instead, a made-up invoice-like event of TYPE (e.g. cost_invoice.paid)

With --event or --sample, first prints whether the target's events/sources take the event,
its filter's verdict and the body (its transform's, or its format's); sends it only when the
filter passes, under a fresh evt_test_ id (so the receiver's deduplication keeps the real
delivery). Exit 0 on a 2xx answer, a broker's acknowledgement or a filtered-out event, 1 otherwise.
`,
  options: { event: { type: "string" }, sample: { type: "string" } },
  positionals: ["NAME"],
  async run(values, io, positionals = []) {
    const config = configFor(values.config as string | undefined, io);
    if (positionals.length !== 1) throw new UsageError("give exactly one target NAME");
    const name = positionals[0]!;
    const target = config.targets.find((t) => t.name === name);
    if (!target) throw new UsageError(`no target named "${name}" (configured: ${config.targets.map((t) => t.name).join(", ") || "none"})`);
    const eventId = values.event as string | undefined;
    const sample = values.sample as string | undefined;
    if (eventId !== undefined && sample !== undefined) throw new UsageError("give at most one of --event ID and --sample TYPE");
    let preview: TargetPreview | undefined;
    if (eventId !== undefined || sample !== undefined) {
      const envelope = eventId !== undefined ? await storedEventForPreview(config, eventId) : sampleForPreview(config, target, sample!, Date.now());
      preview = await previewTarget(target, envelope);
      io.out(describePreview(target, preview));
      if (preview.verdict.outcome === "filtered") return EXIT_OK;
      if (preview.verdict.outcome === "failed") return EXIT_FAILURE;
    }
    // The test event never touches state: a scratch in-memory store leaves the daemon's lock alone.
    const store = await openStateStore("sqlite::memory:");
    const clock = systemClock();
    const dispatcher = new Dispatcher({ store, targets: [target], clock, logger: createLogger().child({ component: "delivery" }) });
    try {
      const result = await sendTestEvent(dispatcher, config, name, clock.now(), preview && { envelope: preview.envelope, body: JSON.stringify(preview.envelope), ...(preview.verdict.outcome === "deliver" && preview.verdict.body ? { fixed: preview.verdict.body } : {}) });
      const http = transportOf(target).type === "http";
      const answer = result.status !== null ? `HTTP ${result.status}` : http ? `no response (${result.verdict})` : `${result.ok ? "delivered" : "not delivered"}: ${result.verdict}`;
      io.out(`${name}: ${scrubSecrets(answer, secretValues(config))} in ${result.latencyMs} ms (event ${result.eventId})\n`);
      // A receiver may echo the request, and the `fakturownia` format carries the target's api_token.
      if (!result.ok && result.responseBody) io.err(`response body: ${scrubSecrets(result.responseBody.slice(0, 300), secretValues(config))}\n`);
      return result.ok ? EXIT_OK : EXIT_FAILURE;
    } finally {
      await dispatcher.stop(0);
      await store.close();
    }
  },
};
