import { Writable } from "node:stream";
import pino from "pino";
import { ManualClock } from "../../src/clock.js";
import type { TargetConfig } from "../../src/config/types.js";
import type { EventEnvelope } from "../../src/core/types.js";
import { Dispatcher, type DispatcherOptions } from "../../src/delivery/dispatcher.js";
import type { StateStore, StoredEvent } from "../../src/store/store.js";
import { openStateStore } from "../../src/store/open.js";
import type { Logger } from "../../src/telemetry/logger.js";
import { MemoryStateStore } from "../helpers/memory-store.js";

export const START = Date.parse("2026-11-23T10:00:00Z");
export const SECRET = "whsec_" + Buffer.from("retrohook test signing secret").toString("base64");

export type StoreFactory = (clock: ManualClock) => Promise<StateStore>;

/** Every dispatcher test runs against each StateStore implementation. */
export const STORES: Array<[string, StoreFactory]> = [
  ["memory", async (clock) => new MemoryStateStore(clock)],
  ["sqlite", async (clock) => openStateStore("sqlite::memory:", { clock })],
];

export function targetConfig(url: string, overrides: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name: "erp",
    url,
    secret: SECRET,
    format: "standard",
    timeout: 2_000,
    headers: {},
    retry: { max_age: 72 * 3_600_000 },
    concurrency: 4,
    ...overrides,
  };
}

export function makeEvent(id: string, recordId: string, options: { type?: string; detectedAt?: number; source?: string } = {}): StoredEvent {
  const envelope: EventEnvelope = {
    id,
    type: options.type ?? "cost_invoice.updated",
    source: options.source ?? "fakturownia",
    resource: "cost_invoices",
    kind: null,
    record_id: recordId,
    detected_at: new Date(options.detectedAt ?? START).toISOString(),
    data: { object: { id: Number(recordId) || recordId, note: `event ${id}` } },
  };
  return { envelope, body: JSON.stringify(envelope) };
}

export const recordKeyOf = (recordId: string): string => `fakturownia/cost_invoices/\u001f${recordId}`;

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose lines tests can read. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      callback();
    },
  });
  const logger = pino({ level: "debug", formatters: { level: (label) => ({ level: label }) } }, stream);
  return { logger, lines, text: () => raw.join("\n") };
}

export interface Harness {
  clock: ManualClock;
  store: StateStore;
  dispatcher: Dispatcher;
  log: ReturnType<typeof captureLogger>;
  /** Enqueues events for the configured targets and tells the dispatcher. */
  enqueue(events: Array<{ event: StoredEvent; recordId: string; targets?: string[] }>): Promise<void>;
  close(): Promise<void>;
}

export async function harness(
  factory: StoreFactory,
  targets: TargetConfig[],
  options: Partial<Omit<DispatcherOptions, "store" | "targets" | "clock" | "logger">> = {},
): Promise<Harness> {
  const clock = new ManualClock(START);
  const store = await factory(clock);
  const log = captureLogger();
  const dispatcher = new Dispatcher({ store, targets, clock, logger: log.logger, random: () => 0.5, ...options });
  return {
    clock,
    store,
    dispatcher,
    log,
    async enqueue(events) {
      const deliveries = await store.enqueue(
        events.map(({ event, recordId, targets: names }) => ({
          event,
          recordKey: recordKeyOf(recordId),
          targets: names ?? targets.map((t) => t.name),
        })),
      );
      dispatcher.enqueued(deliveries);
    },
    async close() {
      await dispatcher.stop(0);
      await store.close();
    },
  };
}

export async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The event id of a received standard body. */
export const idOf = (body: string): string => (JSON.parse(body) as { id: string }).id;
