import { createServer, request as httpRequest, Agent, type Server } from "node:http";
import { listenTracked } from "../../../src/simulators/kit.js";
import { startFakeRest, type FakeRest } from "../../helpers/fake-rest.js";
import type { ReceivedRequest } from "../../helpers/receiver.js";
import { restSource } from "./config.js";
import { emptyFigures, Ledger, type ChangeKind, type DeliveryFigures } from "./ledger.js";
import { SECRETS } from "./secrets.js";

/**
 * Many sources behind one front door, for the cluster suite: one generic REST fake per source
 * (each with its own ledger of every state its records had), reached at `<url>/<source>/items`.
 * The front forwards each request to its source's fake and notes who asked (the
 * `x-chaos-replica` header every replica sends from its own environment) and when the request
 * started and ended — the vendor's view of which replica polled which source, and when.
 */

export const REPLICA_HEADER = "x-chaos-replica";

export interface VendorRequest {
  source: string;
  replica: string;
  /** A list request (a pass reads the list), not a single GET. */
  list: boolean;
  start: number;
  end: number;
  status: number;
}

export interface FleetSource {
  name: string;
  api: FakeRest;
  ledger: Ledger;
}

export interface VendorFleet {
  readonly url: string;
  readonly sources: FleetSource[];
  readonly requests: VendorRequest[];
  /** The `sources:` entries of the config: every replica sends its id in `x-chaos-replica` (from `${variable}`). */
  sourceConfigs(replicaVariable: string, extra?: Record<string, unknown>): Array<Record<string, unknown>>;
  /** Records every source's current records as its baseline. */
  baseline(): void;
  /** One random change on a random source. */
  randomChange(random: () => number): ChangeKind;
  readonly changes: number;
  made(): Record<ChangeKind, number>;
  /** The ledgers' check of what the receiver got, summed over the sources (events split by their `source`). */
  verify(requests: readonly ReceivedRequest[], secret: string): DeliveryFigures & { perSourceLost: Record<string, number> };
  close(): Promise<void>;
}

export async function startVendorFleet(options: { sources: number; seedRecords: number; liveTarget: number }): Promise<VendorFleet> {
  const sources: FleetSource[] = [];
  for (let i = 1; i <= options.sources; i += 1) {
    const api = await startFakeRest({ token: SECRETS.restToken });
    api.seed(options.seedRecords, 1000);
    sources.push({ name: `s${String(i).padStart(2, "0")}`, api, ledger: new Ledger(api) });
  }
  const byName = new Map(sources.map((s) => [s.name, s]));
  const requests: VendorRequest[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server: Server = createServer((req, res) => {
    const start = Date.now();
    const url = new URL(req.url ?? "/", "http://front.invalid");
    const [, name, ...rest] = url.pathname.split("/");
    const source = byName.get(name ?? "");
    const replica = String(req.headers[REPLICA_HEADER] ?? "?");
    if (!source) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"no such source"}');
      return;
    }
    const path = `/${rest.join("/")}${url.search}`;
    const note: VendorRequest = { source: source.name, replica, list: rest.length === 1, start, end: start, status: 0 };
    requests.push(note);
    const upstream = httpRequest(`${source.api.url}${path}`, { method: req.method, headers: { ...req.headers, host: new URL(source.api.url).host }, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on("end", () => {
        note.end = Date.now();
        note.status = answer.statusCode ?? 0;
      });
    });
    upstream.on("error", () => {
      note.end = Date.now();
      note.status = -1;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });
  const listening = await listenTracked(server);
  const url = `http://127.0.0.1:${listening.port}`;

  return {
    url,
    sources,
    requests,
    sourceConfigs: (replicaVariable, extra = {}) =>
      sources.map((source) =>
        restSource(
          `${url}/${source.name}`,
          { name: source.name, headers: { Authorization: `Bearer ${SECRETS.restToken}`, [REPLICA_HEADER]: `\${${replicaVariable}}` }, schedule: "*/1 * * * * *", reconcile: "*/3 * * * * *", ...extra },
          // The mass-deletion guard off: a source left unpolled for a while (no owner) would
          // otherwise hold its deletions for an operator, which is not what this suite measures.
          { pagination: { style: "page", page_param: "page", size_param: "per_page", size: 50 }, max_delete_min: 1_000_000 },
        ),
      ),
    baseline: () => sources.forEach((s) => s.ledger.baseline()),
    randomChange: (random) => sources[Math.floor(random() * sources.length)]!.ledger.randomChange(random, options.liveTarget),
    get changes() {
      return sources.reduce((n, s) => n + s.ledger.changes, 0);
    },
    made() {
      const total: Record<ChangeKind, number> = { create: 0, update: 0, pay: 0, delete: 0 };
      for (const s of sources) for (const kind of Object.keys(total) as ChangeKind[]) total[kind] += s.ledger.made[kind];
      return total;
    },
    verify(received, secret) {
      const split = new Map<string, ReceivedRequest[]>(sources.map((s) => [s.name, []]));
      let unknown = 0;
      for (const request of received) {
        let name: string | undefined;
        try {
          name = (JSON.parse(request.body) as { source?: string }).source;
        } catch {
          name = undefined;
        }
        const list = name ? split.get(name) : undefined;
        if (list) list.push(request);
        else unknown += 1;
      }
      const total: DeliveryFigures & { perSourceLost: Record<string, number> } = { ...emptyFigures(received.length), inconsistent: unknown, problems: unknown ? [`${unknown} deliveries name no known source`] : [], perSourceLost: {} };
      for (const source of sources) {
        const f = source.ledger.verify(split.get(source.name)!, secret);
        for (const key of ["distinctEvents", "duplicates", "splitIds", "badSignatures", "idMismatches", "inconsistent", "orderViolations", "finalStates", "delivered", "lost", "unobservable", "falseDeletes"] as const) total[key] += f[key];
        if (f.lost) total.perSourceLost[source.name] = f.lost;
        for (const problem of f.problems) if (total.problems.length < 20) total.problems.push(`${source.name}: ${problem}`);
      }
      return total;
    },
    async close() {
      await listening.close();
      agent.destroy();
      for (const source of sources) await source.api.close();
    },
  };
}

/** The vendor's view of one source: list requests of two replicas in flight at the same time, and ticks (seconds) polled by two replicas. */
export function vendorOverlaps(requests: readonly VendorRequest[], periodMs = 1000): { inFlight: number; sameTick: number; examples: string[] } {
  const bySource = new Map<string, VendorRequest[]>();
  for (const r of requests) if (r.list && r.status >= 0) (bySource.get(r.source) ?? bySource.set(r.source, []).get(r.source)!).push(r);
  let inFlight = 0;
  let sameTick = 0;
  const examples: string[] = [];
  for (const [source, list] of bySource) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 0; i < list.length; i += 1) {
      for (let j = i + 1; j < list.length && list[j]!.start < list[i]!.end; j += 1) {
        if (list[j]!.replica !== list[i]!.replica) {
          inFlight += 1;
          if (examples.length < 5) examples.push(`${source}: ${list[i]!.replica} and ${list[j]!.replica} both listing at ${new Date(list[j]!.start).toISOString()}`);
        }
      }
    }
    const ticks = new Map<number, Set<string>>();
    for (const r of list) (ticks.get(Math.floor(r.start / periodMs)) ?? ticks.set(Math.floor(r.start / periodMs), new Set()).get(Math.floor(r.start / periodMs))!).add(r.replica);
    for (const replicas of ticks.values()) if (replicas.size > 1) sameTick += 1;
  }
  return { inFlight, sameTick, examples };
}
