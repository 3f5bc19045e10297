import { openApp } from "../src/app.js";
import type { Config } from "../src/config/types.js";
import { runSourcePass, type PassMode } from "../src/pipeline/poll-pass.js";
import { openStateStore } from "../src/store/open.js";
import { createLogger } from "../src/telemetry/logger.js";
import { alignedTicks, fetchAllPages, fetchAllPagesRaw, getJson, pool, publishBare, sourceAgents, targetGot, type BrokerFloor, type PublishedEvent } from "./floors.js";
import { serveRpc } from "./rpc.js";

/**
 * One job per process, so the peak RSS a job reports is its own: a retrohook pass, a delivery
 * run, one of the floors, or the naive script. Log lines go to the file the parent gave as stderr.
 */

const maxRssMb = (): number => process.resourceUsage().maxRSS / 1024;
const MB = 1_048_576;

/** Samples memory every 50 ms; `peak()` is the breakdown when RSS was highest. */
function watchMemory(): { peak(): { rssMb: number; heapTotalMb: number; heapUsedMb: number; externalMb: number } } {
  let peak = process.memoryUsage();
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > peak.rss) peak = now;
  }, 50);
  timer.unref();
  return {
    peak: () => {
      clearInterval(timer);
      return { rssMb: Math.round(peak.rss / MB), heapTotalMb: Math.round(peak.heapTotal / MB), heapUsedMb: Math.round(peak.heapUsed / MB), externalMb: Math.round(peak.external / MB) };
    },
  };
}
const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** The queued events' ids, types and bodies, in outbox order. */
async function pendingEvents(stateUrl: string): Promise<PublishedEvent[]> {
  const store = await openStateStore(stateUrl, { readOnly: true });
  try {
    const events: PublishedEvent[] = [];
    for (const delivery of await store.listPending()) {
      const event = await store.getEvent(delivery.eventId);
      if (event) events.push({ id: event.envelope.id, type: event.envelope.type, body: event.body });
    }
    return events;
  } finally {
    await store.close();
  }
}

async function pendingBodies(stateUrl: string): Promise<string[]> {
  return (await pendingEvents(stateUrl)).map((event) => event.body);
}

serveRpc({
  /** The floor of scenarios 1 and 2: every page, same client and agent, JSON.parse'd. */
  floorFetch: async (args: { listUrl: string; pageSize: number }) => {
    const agents = sourceAgents();
    const memory = watchMemory();
    const cpu = cpuMs();
    const started = performance.now();
    const { records, requests } = await fetchAllPages(args.listUrl, args.pageSize, agents);
    const ms = performance.now() - started;
    agents.http.destroy();
    return { ms, cpuMs: cpuMs() - cpu, records, requests, maxRssMb: maxRssMb(), memory: memory.peak() };
  },

  /** The raw floor of scenarios 1 and 2: every page with node:http alone, JSON.parse'd (what the HTTP client costs). */
  floorFetchRaw: async (args: { listUrl: string; pageSize: number }) => {
    const agents = sourceAgents();
    const cpu = cpuMs();
    const started = performance.now();
    const { records, requests } = await fetchAllPagesRaw(args.listUrl, args.pageSize, agents.http);
    const ms = performance.now() - started;
    agents.http.destroy();
    return { ms, cpuMs: cpuMs() - cpu, records, requests, maxRssMb: maxRssMb() };
  },

  /** One retrohook pass over every source of the config (`retrohook once` without delivery). */
  pass: async (args: { config: Config; mode: PassMode }) => {
    const logger = createLogger();
    const app = await openApp(args.config, { logger });
    try {
      const deps = app.passDeps();
      const outcomes = [];
      const memory = watchMemory();
      const cpu = cpuMs();
      const started = performance.now();
      for (const { config, source } of app.sources) outcomes.push(...(await runSourcePass(deps, source, config, args.mode)));
      const ms = performance.now() - started;
      const used = cpuMs() - cpu;
      const peak = memory.peak();
      const pending = (await app.store.listPending()).length;
      return { ms, cpuMs: used, outcomes, pending, maxRssMb: maxRssMb(), memory: peak };
    } finally {
      await app.close();
    }
  },

  /** Scenario 3: the dispatcher delivers everything pending (signed, acked in state). */
  deliver: async (args: { config: Config }) => {
    const logger = createLogger();
    const app = await openApp(args.config, { logger });
    const dispatcher = app.dispatcher!;
    try {
      const expected = (await app.store.listPending()).length;
      const cpu = cpuMs();
      const started = performance.now();
      await dispatcher.start();
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        const busy = dispatcher.status().reduce((n, t) => n + t.pending + t.inFlight, 0);
        if (busy === 0) break;
        if (Date.now() > deadline) throw new Error(`deliveries still pending after 10 minutes: ${busy}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const ms = performance.now() - started;
      const used = cpuMs() - cpu;
      const left = (await app.store.listPending()).length;
      const dead = (await app.store.listDeadLetters()).length;
      return { ms, cpuMs: used, expected, left, dead, maxRssMb: maxRssMb() };
    } finally {
      await dispatcher.stop(1_000);
      await app.close();
    }
  },

  /** The floor of scenario 3: the same bodies POSTed, same concurrency and keep-alive, no signing, no state. */
  floorDeliver: async (args: { stateUrl: string; url: string; concurrency: number }) => {
    const bodies = await pendingBodies(args.stateUrl);
    const client = targetGot(args.concurrency);
    const cpu = cpuMs();
    const started = performance.now();
    await pool(bodies.length, args.concurrency, async (index) => {
      const response = await client.post(args.url, { body: bodies[index]!, headers: { "content-type": "application/json" } });
      if (response.statusCode !== 200) throw new Error(`POST: HTTP ${response.statusCode}`);
    });
    return { ms: performance.now() - started, cpuMs: cpuMs() - cpu, count: bodies.length, maxRssMb: maxRssMb() };
  },

  /** The floor of deliver-10k per broker: the same events under the same ids, published by the bare client with the same acks. */
  floorPublish: async (args: BrokerFloor & { stateUrl: string; concurrency: number }) => {
    const events = await pendingEvents(args.stateUrl);
    const cpu = cpuMs();
    const ms = await publishBare(args, events, args.concurrency);
    return { ms, cpuMs: cpuMs() - cpu, count: events.length, maxRssMb: maxRssMb() };
  },

  /** The naive script, scenarios 1 and 6: a full fetch into memory, then a timed second cycle. */
  naiveReconcile: async (args: { listUrl: string; pageSize: number; receiverUrl: string }) => {
    let known = new Map<string, string>();
    const cycle = async (): Promise<{ requests: number; changes: number }> => {
      const seen = new Map<string, string>();
      const changed: string[] = [];
      let requests = 0;
      for (let page = 1; page <= 1_000_000; page += 1) {
        const response = await fetch(`${args.listUrl}?page=${page}&per_page=${args.pageSize}`);
        const items = (await response.json()) as Array<Record<string, unknown>>;
        requests += 1;
        for (const item of items) {
          const json = JSON.stringify(item);
          const id = String(item.id);
          if (known.size > 0 && known.get(id) !== json) changed.push(json);
          seen.set(id, json);
        }
        if (items.length < args.pageSize) break;
      }
      for (const body of changed) await fetch(args.receiverUrl, { method: "POST", body, headers: { "content-type": "application/json" } });
      known = seen;
      return { requests, changes: changed.length };
    };
    await cycle();
    const started = performance.now();
    const second = await cycle();
    return { ms: performance.now() - started, ...second, maxRssMb: maxRssMb() };
  },

  /** The naive script, scenario 3: each change POSTed with fetch, one after another. */
  naiveDeliver: async (args: { stateUrl: string; url: string }) => {
    const bodies = await pendingBodies(args.stateUrl);
    const started = performance.now();
    for (const body of bodies) {
      const response = await fetch(args.url, { method: "POST", body, headers: { "content-type": "application/json" } });
      await response.arrayBuffer();
    }
    return { ms: performance.now() - started, count: bodies.length, maxRssMb: maxRssMb() };
  },

  /**
   * The floor of scenario 4: a bare poller on the same 1 s ticks — GET what changed since the
   * last poll (same overlap), POST each new revision; no state, no signing.
   */
  floorLatency: async (args: { listUrl: string; pageSize: number; receiverUrl: string; overlapMs: number; untilMs: number }) => {
    const agents = sourceAgents();
    const client = targetGot(4);
    const revs = new Map<number, number>();
    let cursor = 0;
    const note = (records: Array<Record<string, unknown>>, changed?: Array<Record<string, unknown>>): void => {
      for (const record of records) {
        const id = record.id as number;
        const rev = record.rev as number;
        if (changed && revs.get(id) !== rev) changed.push(record);
        revs.set(id, rev);
        cursor = Math.max(cursor, Date.parse(record.updated_at as string));
      }
    };
    await fetchAllPages(args.listUrl, args.pageSize, agents, (records) => note(records));
    let polls = 0;
    let running = false;
    await alignedTicks(1_000, args.untilMs, () => {
      if (running) return;
      running = true;
      polls += 1;
      const since = new Date(cursor - args.overlapMs).toISOString();
      const changed: Array<Record<string, unknown>> = [];
      void fetchAllPages(`${args.listUrl}?modified_since=${encodeURIComponent(since)}`, args.pageSize, agents, (records) => note(records, changed))
        .then(() => pool(changed.length, 4, async (i) => void (await client.post(args.receiverUrl, { body: JSON.stringify({ data: { object: changed[i] } }) }))))
        .finally(() => {
          running = false;
        });
    });
    return { polls };
  },

  /**
   * The floor of scenario 5: the same sources polled by bare timers on the same ticks, one
   * keep-alive agent per source; the CPU it uses between its first and last tick.
   */
  floorMany: async (args: { listUrl: string; sources: number; periodMs: number; durationMs: number; overlapMs: number; cursor: number }) => {
    const agents = Array.from({ length: args.sources }, () => sourceAgents());
    const since = new Date(args.cursor - args.overlapMs).toISOString();
    const url = `${args.listUrl}?modified_since=${encodeURIComponent(since)}&page=1&per_page=100`;
    // Warm the connections as retrohook's first pass does.
    await pool(args.sources, args.sources, async (i) => void (await getJson(url, agents[i]!)));
    const first = Math.ceil((Date.now() + 1) / args.periodMs) * args.periodMs;
    const until = first + args.durationMs - 1;
    let cpuStart = 0;
    let wallStart = 0;
    const starts: number[][] = Array.from({ length: args.sources }, () => []);
    const inFlight = new Set<Promise<unknown>>();
    await Promise.all(
      agents.map((agent, i) =>
        alignedTicks(args.periodMs, until, () => {
          if (cpuStart === 0) {
            cpuStart = cpuMs();
            wallStart = performance.now();
          }
          starts[i]!.push(Date.now());
          const request = getJson(url, agent);
          inFlight.add(request);
          void request.finally(() => inFlight.delete(request));
        }),
      ),
    );
    await Promise.all([...inFlight]);
    // The window is whole periods, idle time included, as for the daemon.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, first + args.durationMs - Date.now())));
    const cpu = cpuMs() - cpuStart;
    const wall = performance.now() - wallStart;
    return { cpuPercent: (100 * cpu) / wall, maxRssMb: maxRssMb(), starts, first, until };
  },
});
