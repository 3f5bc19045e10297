import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/clock.js";
import type { PresetResourceConfig, SourceCommon, SourceConfig } from "../../../src/config/types.js";
import type { EventEnvelope } from "../../../src/core/types.js";
import { runSourcePass, type PassMode, type PassOutcome } from "../../../src/pipeline/poll-pass.js";
import type { Fault, FakeLogEntry, FakeRequest, FakeServer, FaultRule } from "../../../src/simulators/kit.js";
import { createSource } from "../../../src/sources/registry.js";
import type { Source } from "../../../src/sources/source.js";
import type { ResourceState } from "../../../src/store/store.js";
import { MemoryStateStore } from "../../helpers/memory-store.js";
import { loadedPresetResource, loadedSource } from "../../helpers/source-config.js";

/**
 * The preset contract: one suite every preset with a fake runs. A preset's
 * `contract.test.ts` calls `presetContract(adapter)`; the adapter starts the vendor's fake,
 * writes the preset's config, mutates one record of one resource (create, update, pay, delete),
 * and says which requests are list pages, second pages and single-record GETs so faults can be
 * aimed at them. Passes run in process through the real pipeline (`runSourcePass`) against an
 * in-memory state store, one Source per "process" like the daemon.
 *
 * What it proves, each point a test (README: Events, Guarantees):
 * baseline is silent; each mutation yields exactly its events in the next incremental pass
 * (deletions: in a reconcile where that is the vendor's way); idle passes yield nothing and
 * cost at most the documented requests; re-reading (overlap, a rewound cursor) never repeats
 * an event; faults in a pass produce no `deleted`, keep the cursor, fail naming source,
 * resource and cause, and the next clean pass recovers; a deletion needs the vendor's
 * confirmation (or two reconciles); 401 suspends the source and 403 the resource, persisted,
 * with no further requests; a long "wait" (429 + Retry-After) backs the whole source off; a
 * response over `max_response_bytes` fails the pass. Also: a burst larger than a page arrives
 * in one pass, and a change made at any moment of a baseline or reconcile is never lost.
 */

/** What a fault matcher sees: the kit's request (fault rules), or a log line (counting). */
export interface RequestLine {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Present when matching a live request (fault rules); absent on log lines. */
  body?: string;
}

/** Vendor-shaped answers the suite injects; defaults are plain HTTP (401, 403, 404, `[]`…). */
export interface VendorAnswers {
  unauthorized: Fault;
  forbidden: Fault;
  /** What the single-record GET answers for a missing record. */
  notFound: Fault;
  /** A complete, well-formed, empty list. */
  empty: Fault;
  /** Valid JSON, status 200, not the vendor's list shape. */
  wrongShape: Fault;
  /** The single-record GET says the record exists. */
  exists: (id: string) => Fault;
}

/** A fault case of the suite: where it hits, and the `cause` the failed pass must report. */
export interface FaultCase {
  name: string;
  /** Aimed at the first list page (all pages) or at page 2 of a complete scan. */
  at: "list" | "second-page";
  fault: Fault;
  causes: string[];
  message: RegExp;
  /** Source overrides for this case (e.g. a short timeout). */
  overrides?: Partial<SourceCommon>;
}

export interface PresetContractAdapter<F extends FakeServer = FakeServer> {
  /** Suite title: the preset, plus the variant when a preset runs the suite more than once. */
  name: string;
  /** The canonical resource the suite mutates, and its event type prefix: cost invoices unless said otherwise. */
  resource?: string;
  typePrefix?: string;
  /** A second resource of the same source, to show a 403 stays with its resource. */
  otherResource: string;
  /** A credential that must never appear in an error message. */
  secret: string;
  /** Starts the fake; it should read time from `clock` so back-offs and stamps move with it. */
  start(clock: ManualClock): Promise<F>;
  config(fake: F, resources: PresetResourceConfig[], overrides?: Partial<SourceCommon>): SourceConfig;
  /** Bulk records of `resource`: enough that a complete scan takes at least two pages. */
  seed(fake: F): void;
  /** A new unpaid record of `resource`; its id. */
  create(fake: F): string;
  update(fake: F, id: string): void;
  /** Pays the record in full. */
  pay(fake: F, id: string): void;
  remove(fake: F, id: string): void;
  /** Where a deletion is reported: the next incremental pass (a vendor feed) or a reconcile. */
  deletedBy: "incremental" | "reconcile";
  /** Requests an idle incremental pass of `resource` alone may cost (the documented number). */
  idleRequests: number;
  /** Incremental passes re-read records changed within the overlap (time cursors). */
  overlapRereads: boolean;
  /** More changes than one page (or feed page) holds, for the burst test. */
  burst: number;
  /** A list request of `resource` (any page). */
  isList(request: RequestLine): boolean;
  /** Page 2 of a complete scan of `resource`. */
  isSecondPage(request: RequestLine): boolean;
  /** The single-record GET of `resource` (of `id` when given). */
  isSingleGet(request: RequestLine, id?: string): boolean;
  /** Any request made on behalf of `resource` (lists, feeds, single GETs); by default a list or a single GET. */
  isResourceRequest?(request: RequestLine): boolean;
  answers?: Partial<VendorAnswers>;
  /** Vendor-specific faults, run like the shared ones. */
  extraFaults?: FaultCase[];
}

const DEFAULT_ANSWERS: VendorAnswers = {
  unauthorized: { type: "status", status: 401, body: { error: "unauthorized" } },
  forbidden: { type: "status", status: 403, body: { error: "forbidden" } },
  notFound: { type: "status", status: 404, body: { error: "not found" } },
  empty: { type: "empty" },
  wrongShape: { type: "status", status: 200, body: { unexpected: { records: "elsewhere" } } },
  exists: (id) => ({ type: "status", status: 200, body: { id: Number(id) } }),
};

/** A resource as the config loader hands it over (defaults applied). */
export const presetResource = loadedPresetResource;

/**
 * A preset source as the config loader makes it: `input` holds the preset's keys as a user
 * writes them (name, preset, base_url, credentials) and goes through the real parser, with a
 * 5 s timeout and Warsaw time unless it says otherwise; `resources` and `overrides` are in
 * loaded form (what the suite varies).
 */
export function presetSource<C extends SourceConfig>(input: Record<string, unknown>, resources: PresetResourceConfig[], overrides: Partial<SourceCommon> = {}): C {
  return loadedSource<C>({ timeout: "5s", timezone: "Europe/Warsaw", ...input, resources: resources.map((r) => r.name) }, { resources, ...overrides } as Partial<C>);
}

/**
 * The single-record read of a vendor: `pattern` captures the record id from the path, and the
 * request's method must be `method` (null: any). Matches any record, or the record `id`.
 */
export function singleRecordRead(pattern: RegExp, method: string | null = "GET"): (request: RequestLine, id?: string) => boolean {
  return (request, id) => {
    const match = method === null || request.method === method ? pattern.exec(request.path) : null;
    return match !== null && (id === undefined || match[1] === id);
  };
}

export interface PassResult {
  outcomes: PassOutcome[];
  events: EventEnvelope[];
  notices: string[];
  /** Requests the fake logged during the pass. */
  requests: FakeLogEntry[];
}

/**
 * Passes of one source through the real pipeline against an in-memory store. One Source
 * serves every pass (like the daemon) until `restart`, which starts another "process" on the
 * same state. Warnings and errors the source logs are kept in `logged`.
 */
export class ContractRun {
  readonly store: MemoryStateStore;
  readonly logged: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  private source?: Source;
  private readonly logger = pino({ level: "warn" }, { write: (line: string) => void this.logged.push(JSON.parse(line) as ContractRun["logged"][number]) });

  constructor(
    private readonly fake: FakeServer,
    public config: SourceConfig,
    readonly clock: ManualClock,
    /** Time that passes before each pass (the schedule). */
    private readonly tickMs = 60_000,
  ) {
    this.store = new MemoryStateStore(clock);
  }

  async pass(mode: PassMode = "incremental"): Promise<PassResult> {
    this.clock.advance(this.tickMs);
    this.source ??= createSource(this.config, { clock: this.clock, logger: this.logger });
    const before = this.fake.requests.length;
    const events: EventEnvelope[] = [];
    const notices: string[] = [];
    const outcomes = await runSourcePass(
      { store: this.store, clock: this.clock, logger: this.logger, route: () => ["t"], onEvents: (e) => events.push(...e), onNotice: (n) => notices.push(n) },
      this.source,
      this.config,
      mode,
    );
    return { outcomes, events, notices, requests: this.fake.requests.slice(before) };
  }

  /** A new process on the same state, optionally with another config. */
  restart(config: SourceConfig = this.config): void {
    this.source?.close();
    this.source = undefined;
    this.config = config;
  }

  resourceState(resource: string): Promise<ResourceState | undefined> {
    return this.store.getResourceState({ source: this.config.name, resource });
  }

  /** Warnings and errors whose message or fields mention `pattern`. */
  loggedMatching(pattern: RegExp): number {
    return this.logged.filter((line) => pattern.test(JSON.stringify(line))).length;
  }

  close(): void {
    this.source?.close();
  }
}

export const lineOf = (entry: FakeLogEntry): RequestLine => ({ method: entry.method, path: entry.path, query: new URLSearchParams(entry.query) });

export function outcomeOf(result: PassResult, resource: string): PassOutcome {
  const outcome = result.outcomes.find((o) => o.resource === resource);
  if (!outcome) throw new Error(`no outcome for ${resource}: ${JSON.stringify(result.outcomes)}`);
  return outcome;
}

/** Every outcome ok; on failure the errors are in the assertion message. */
export function expectOk(result: PassResult): void {
  expect(result.outcomes.filter((o) => !o.ok).map((o) => `${o.resource}: ${o.error}`)).toEqual([]);
}

/**
 * A source that is backed off: `restarts` new processes in a row each find every resource
 * blocked and ask the vendor nothing; once `waitMs` has passed, the next pass runs clean.
 * Returns that pass.
 */
export async function expectBackedOffFor(run: ContractRun, restarts: number, waitMs: number): Promise<PassResult> {
  for (let i = 0; i < restarts; i += 1) {
    run.restart();
    const quiet = await run.pass();
    expect(quiet.outcomes.every((o) => o.blocked)).toBe(true);
    expect(quiet.requests).toEqual([]);
  }
  run.clock.advance(waitMs);
  const back = await run.pass();
  expectOk(back);
  return back;
}

/** A second loopback server standing for "another origin"; it counts what reaches it. */
async function startForeignOrigin(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end("[]");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function presetContract<F extends FakeServer>(given: PresetContractAdapter<F>): void {
  const adapter = {
    resource: "cost_invoices",
    typePrefix: "cost_invoice",
    isResourceRequest: (request: RequestLine) => given.isList(request) || given.isSingleGet(request),
    ...given,
  };
  const answers: VendorAnswers = { ...DEFAULT_ANSWERS, ...adapter.answers };
  const ev = (kind: string, id: string): string => `${adapter.typePrefix}.${kind}:${id}`;
  const summary = (events: EventEnvelope[]): string[] => events.map((e) => `${e.type}:${e.record_id}`);
  const sorted = (list: string[]): string[] => [...list].sort();
  const deletedIn = (events: EventEnvelope[]): string[] => summary(events).filter((s) => /\.deleted:/.test(s));

  let fake: F | undefined;
  let run: ContractRun | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    run?.close();
    run = undefined;
    await fake?.close();
    fake = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  interface Setup {
    fake: F;
    run: ContractRun;
    clock: ManualClock;
    /** Three records created before the baseline: unpaid, untouched. */
    ids: [string, string, string];
    configFor(overrides?: Partial<SourceCommon>, resource?: Partial<PresetResourceConfig>): SourceConfig;
    baseline: PassResult;
  }

  async function teardown(): Promise<void> {
    run?.close();
    run = undefined;
    await fake?.close();
    fake = undefined;
  }

  /** Fake with seeded records plus three known ones (and `extra` more), then the baseline pass. */
  async function setup(
    options: { resources?: string[]; resource?: Partial<PresetResourceConfig>; extra?: number; beforeBaseline?: (fake: F, ids: string[]) => void } = {},
  ): Promise<Setup & { extra: string[] }> {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000, { autoAdvance: true });
    fake = await adapter.start(clock);
    adapter.seed(fake);
    const ids: [string, string, string] = [adapter.create(fake), adapter.create(fake), adapter.create(fake)];
    const extra = Array.from({ length: options.extra ?? 0 }, () => adapter.create(fake!));
    options.beforeBaseline?.(fake, ids);
    const names = options.resources ?? [adapter.resource];
    const started = fake;
    const configFor = (overrides: Partial<SourceCommon> = {}, resource: Partial<PresetResourceConfig> = options.resource ?? {}): SourceConfig =>
      adapter.config(
        started,
        names.map((name) => presetResource(name, name === adapter.resource ? resource : {})),
        overrides,
      );
    run = new ContractRun(fake, configFor(), clock);
    const baseline = await run.pass();
    expectOk(baseline);
    return { fake, run, clock, ids, extra, configFor, baseline };
  }

  /** A rule aimed by the adapter's matchers; applies until cleared. */
  function aim(at: FaultCase["at"] | ((request: RequestLine) => boolean), fault: Fault): FaultRule {
    const match = typeof at === "function" ? at : at === "list" ? adapter.isList : adapter.isSecondPage;
    return { fault, times: Infinity, match: (request: FakeRequest) => match(request) };
  }

  describe(`preset contract: ${adapter.name}`, () => {
    it("the baseline is silent", async () => {
      const { baseline, run } = await setup();
      expect(baseline.events).toEqual([]);
      expect(outcomeOf(baseline, adapter.resource).baselined).toBeGreaterThanOrEqual(3);
      const again = await run.pass();
      expectOk(again);
      expect(again.events).toEqual([]);
    });

    it("a new record yields exactly `created` in the next incremental pass", async () => {
      const { fake, run } = await setup();
      const id = adapter.create(fake);
      const pass = await run.pass();
      expectOk(pass);
      expect(summary(pass.events)).toEqual([ev("created", id)]);
    });

    it("an edit yields exactly `updated` in the next incremental pass", async () => {
      const { fake, run, ids } = await setup();
      adapter.update(fake, ids[0]);
      const pass = await run.pass();
      expectOk(pass);
      expect(summary(pass.events)).toEqual([ev("updated", ids[0])]);
    });

    it("a payment yields exactly `updated` then `paid` in the next incremental pass", async () => {
      const { fake, run, ids } = await setup();
      adapter.pay(fake, ids[1]);
      const pass = await run.pass();
      expectOk(pass);
      expect(summary(pass.events)).toEqual([ev("updated", ids[1]), ev("paid", ids[1])]);
    });

    it(`a deletion yields exactly \`deleted\` in the next ${adapter.deletedBy === "incremental" ? "incremental pass" : "reconcile (incremental passes cannot see it)"}`, async () => {
      const { fake, run, ids } = await setup();
      adapter.remove(fake, ids[2]);
      const incremental = await run.pass();
      expectOk(incremental);
      if (adapter.deletedBy === "incremental") {
        expect(summary(incremental.events)).toEqual([ev("deleted", ids[2])]);
        const reconcile = await run.pass("reconcile");
        expectOk(reconcile);
        expect(reconcile.events).toEqual([]);
      } else {
        expect(incremental.events).toEqual([]);
        const reconcile = await run.pass("reconcile");
        expectOk(reconcile);
        expect(summary(reconcile.events)).toEqual([ev("deleted", ids[2])]);
      }
      const after = await run.pass("reconcile");
      expectOk(after);
      expect(after.events).toEqual([]);
    });

    it(`a burst larger than a page (${adapter.burst} new, ${adapter.burst} edited, ${adapter.burst} paid records) arrives complete in the next incremental pass`, async () => {
      const { fake, run, extra } = await setup({ extra: 2 * adapter.burst });
      const created = Array.from({ length: adapter.burst }, () => adapter.create(fake));
      const edited = extra.slice(0, adapter.burst);
      const paid = extra.slice(adapter.burst);
      for (const id of edited) adapter.update(fake, id);
      for (const id of paid) adapter.pay(fake, id);
      const pass = await run.pass();
      expectOk(pass);
      const expected = [...created.map((id) => ev("created", id)), ...edited.map((id) => ev("updated", id)), ...paid.flatMap((id) => [ev("updated", id), ev("paid", id)])];
      const got = summary(pass.events);
      expect(got.length, "no duplicates").toBe(new Set(got).size);
      expect(sorted(got)).toEqual(sorted(expected));
      const reconcile = await run.pass("reconcile");
      expectOk(reconcile);
      expect(reconcile.events).toEqual([]);
    });

    for (const during of ["baseline", "reconcile"] as const) {
      it(`a change made at any moment while a ${during} runs is not lost: the next incremental pass catches up and a reconcile finds nothing more`, async () => {
        const clean = await setup();
        const requests = during === "baseline" ? clean.baseline.requests.length : (await clean.run.pass("reconcile")).requests.length;
        await teardown();
        for (let k = 1; k <= requests; k += 1) {
          let seen = 0;
          const trigger = (fake: F, known: string[]): void =>
            fake.injectFault({
              fault: { type: "delay", ms: 0 },
              times: Infinity,
              match: () => {
                if (++seen === k) {
                  adapter.update(fake, known[0]!);
                  adapter.pay(fake, known[1]!);
                }
                return false;
              },
            });
          const { fake, run, ids } = await setup(during === "baseline" ? { beforeBaseline: trigger } : {});
          const allowed = [ev("updated", ids[0]), ev("updated", ids[1]), ev("paid", ids[1])];
          const label = `changed just before request ${k} of ${requests} of the ${during}`;
          const got: string[] = [];
          if (during === "reconcile") {
            trigger(fake, ids);
            const reconcile = await run.pass("reconcile");
            expectOk(reconcile);
            got.push(...summary(reconcile.events));
          }
          const incremental = await run.pass();
          expectOk(incremental);
          got.push(...summary(incremental.events));
          expect(got.length, `${label}: ${got.join(", ")}`).toBe(new Set(got).size);
          expect(got.filter((s) => !allowed.includes(s)), label).toEqual([]);
          const reconcile = await run.pass("reconcile");
          expectOk(reconcile);
          expect(summary(reconcile.events), `${label}: the reconcile found what the incremental pass missed`).toEqual([]);
          await teardown();
        }
      });
    }

    it(`idle passes yield nothing and cost at most ${adapter.idleRequests} request(s)`, async () => {
      const { fake, run, clock } = await setup();
      // Quiet for longer than the overlap: the seeded records are no longer re-read.
      clock.advance(2 * run.config.overlap);
      adapter.create(fake);
      expect((await run.pass()).events).toHaveLength(1);
      for (const label of ["first idle pass", "second idle pass"]) {
        const idle = await run.pass();
        expectOk(idle);
        expect(idle.events, label).toEqual([]);
        expect(idle.requests.map((r) => `${r.method} ${r.path}${r.query}`).length, `${label}: ${idle.requests.map((r) => `${r.method} ${r.path}${r.query}`).join("\n")}`).toBeLessThanOrEqual(adapter.idleRequests);
      }
    });

    it("re-reading changes already reported (the overlap, or a cursor rewound by a crash) repeats no event", async () => {
      const { fake, run, ids } = await setup();
      const before = await run.resourceState(adapter.resource);
      const created = adapter.create(fake);
      adapter.update(fake, ids[0]);
      adapter.pay(fake, ids[1]);
      if (adapter.deletedBy === "incremental") adapter.remove(fake, ids[2]);
      const first = await run.pass();
      expectOk(first);
      const expected = [ev("created", created), ev("updated", ids[0]), ev("updated", ids[1]), ev("paid", ids[1])];
      if (adapter.deletedBy === "incremental") expected.push(ev("deleted", ids[2]));
      expect(sorted(summary(first.events))).toEqual(sorted(expected));

      const overlap = await run.pass();
      expectOk(overlap);
      expect(overlap.events).toEqual([]);
      if (adapter.overlapRereads) expect(outcomeOf(overlap, adapter.resource).records, "the overlap re-reads the changed records").toBeGreaterThanOrEqual(3);

      // A crash after the snapshots were written but before the cursor was: the changes come again.
      const state = (await run.resourceState(adapter.resource))!;
      await run.store.putResourceState({ source: run.config.name, resource: adapter.resource }, { ...state, cursor: before!.cursor });
      run.restart();
      const rewound = await run.pass();
      expectOk(rewound);
      expect(summary(rewound.events)).toEqual([]);
      expect(outcomeOf(rewound, adapter.resource).records).toBeGreaterThanOrEqual(2);

      const reconcile = await run.pass("reconcile");
      expectOk(reconcile);
      expect(reconcile.events).toEqual([]);
    });

    const faults: FaultCase[] = [
      { name: "HTTP 500 on page 2", at: "second-page", fault: { type: "status", status: 500, body: { error: "Internal Server Error" } }, causes: ["http"], message: /HTTP 500/ },
      { name: "a timeout", at: "list", fault: { type: "delay", ms: 900 }, causes: ["timeout"], message: /timed out/, overrides: { timeout: 250 } },
      { name: "HTML with status 200", at: "list", fault: { type: "html" }, causes: ["not-json"], message: /expected JSON/ },
      { name: "truncated JSON on page 2", at: "second-page", fault: { type: "truncate" }, causes: ["truncated", "not-json"], message: /truncated|invalid JSON/ },
      { name: "a body of the wrong shape", at: "list", fault: answers.wrongShape, causes: ["shape"], message: /./ },
      { name: "an empty complete list while state holds records", at: "list", fault: answers.empty, causes: ["empty"], message: /empty/ },
      ...(adapter.extraFaults ?? []),
    ];

    for (const fault of faults) {
      it(`reconcile fault — ${fault.name}: no deleted, cursor kept, a failure naming source, resource and cause; the next clean pass recovers`, async () => {
        // No delete guard: only the failed pass itself may stop the deletions.
        const { fake, run, ids, configFor } = await setup({ resource: { max_delete_min: 1_000_000, max_delete_ratio: 1 } });
        adapter.update(fake, ids[0]);
        adapter.remove(fake, ids[2]);
        const before = await run.resourceState(adapter.resource);
        if (fault.overrides) run.restart(configFor(fault.overrides));
        fake.injectFault(aim(fault.at, fault.fault));
        const failed = await run.pass("reconcile");
        const outcome = outcomeOf(failed, adapter.resource);
        expect(outcome.ok).toBe(false);
        expect(outcome.error).toMatch(new RegExp(`^source ${run.config.name}, resource ${adapter.resource}: `));
        expect(outcome.error).toMatch(fault.message);
        expect(fault.causes).toContain(outcome.cause);
        expect(outcome.error).not.toContain(adapter.secret);
        expect(deletedIn(failed.events)).toEqual([]);
        expect((await run.resourceState(adapter.resource))?.cursor).toEqual(before?.cursor);
        expect((await run.resourceState(adapter.resource))?.missing).toBeUndefined();

        fake.clearFaults();
        run.restart(configFor());
        const recovered = await run.pass("reconcile");
        expectOk(recovered);
        expect(sorted([...summary(failed.events), ...summary(recovered.events)])).toEqual(sorted([ev("updated", ids[0]), ev("deleted", ids[2])]));
        const next = await run.pass();
        expectOk(next);
        expect(next.events).toEqual([]);
      });
    }

    it("reconcile fault — a redirect to another origin is not followed: nothing reaches it, no deleted, cursor kept", async () => {
      const foreign = await startForeignOrigin();
      cleanups.push(foreign.close);
      const { fake, run, ids } = await setup({ resource: { max_delete_min: 1_000_000, max_delete_ratio: 1 } });
      adapter.update(fake, ids[0]);
      adapter.remove(fake, ids[2]);
      const before = await run.resourceState(adapter.resource);
      fake.injectFault(aim("list", { type: "redirect", location: `${foreign.url}/elsewhere` }));
      const failed = await run.pass("reconcile");
      const outcome = outcomeOf(failed, adapter.resource);
      expect(outcome.ok).toBe(false);
      expect(outcome.cause).toBe("redirect");
      expect(outcome.error).toMatch(new RegExp(`^source ${run.config.name}, resource ${adapter.resource}: .*redirect`));
      expect(foreign.hits()).toBe(0);
      expect(deletedIn(failed.events)).toEqual([]);
      expect((await run.resourceState(adapter.resource))?.cursor).toEqual(before?.cursor);
      fake.clearFaults();
      const recovered = await run.pass("reconcile");
      expectOk(recovered);
      expect(sorted([...summary(failed.events), ...summary(recovered.events)])).toEqual(sorted([ev("updated", ids[0]), ev("deleted", ids[2])]));
    });

    it("a fault in the middle of an incremental pass keeps the cursor; the next clean pass delivers every change exactly once", async () => {
      const { fake, run, ids } = await setup();
      const created = adapter.create(fake);
      adapter.update(fake, ids[0]);
      adapter.pay(fake, ids[1]);
      const before = await run.resourceState(adapter.resource);
      // From the last request an idle pass would make on, every request fails.
      let seen = 0;
      fake.injectFault({ fault: { type: "status", status: 503, body: { error: "unavailable" } }, times: Infinity, match: () => ++seen >= adapter.idleRequests });
      const failed = await run.pass();
      const outcome = outcomeOf(failed, adapter.resource);
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(new RegExp(`^source ${run.config.name}, resource ${adapter.resource}: .*HTTP 503`));
      expect((await run.resourceState(adapter.resource))?.cursor).toEqual(before?.cursor);
      fake.clearFaults();
      const recovered = await run.pass();
      expectOk(recovered);
      expect(sorted([...summary(failed.events), ...summary(recovered.events)])).toEqual(sorted([ev("created", created), ev("updated", ids[0]), ev("updated", ids[1]), ev("paid", ids[1])]));
    });

    it("a deleted record is not reported while the vendor's single-record GET says it exists", async () => {
      const { fake, run, ids } = await setup();
      adapter.remove(fake, ids[2]);
      fake.injectFault({ fault: answers.exists(ids[2]), times: Infinity, match: (request) => adapter.isSingleGet(request, ids[2]) });
      const incremental = await run.pass();
      expectOk(incremental);
      expect(deletedIn(incremental.events)).toEqual([]);
      const reconcile = await run.pass("reconcile");
      expectOk(reconcile);
      expect(deletedIn(reconcile.events)).toEqual([]);
      fake.clearFaults();
      const confirmed = await run.pass("reconcile");
      expectOk(confirmed);
      expect(summary(confirmed.events)).toEqual([ev("deleted", ids[2])]);
    });

    it("without a usable single-record GET a record is deleted only when missing from two consecutive reconciles", async () => {
      const { fake, run, ids } = await setup();
      fake.injectFault({ fault: answers.notFound, times: Infinity, match: (request) => adapter.isSingleGet(request) });
      adapter.remove(fake, ids[2]);
      const first = await run.pass("reconcile");
      expectOk(first);
      expect(first.events).toEqual([]);
      expect(first.notices.join("\n")).toMatch(/awaiting confirmation/);
      const second = await run.pass("reconcile");
      expectOk(second);
      expect(summary(second.events)).toEqual([ev("deleted", ids[2])]);
      fake.clearFaults();
      const incremental = await run.pass();
      expectOk(incremental);
      expect(incremental.events).toEqual([]);
    });

    it("401 suspends the whole source, persisted across restarts, with no further requests until the config changes", async () => {
      const { fake, run, configFor } = await setup({ resources: [adapter.resource, adapter.otherResource] });
      fake.injectFault({ fault: answers.unauthorized, times: Infinity });
      const failed = await run.pass();
      expect(failed.outcomes.every((o) => !o.ok)).toBe(true);
      const first = failed.outcomes[0]!;
      expect(first.cause).toBe("auth");
      expect(first.error).toMatch(new RegExp(`^source ${run.config.name}, resource ${first.resource}: `));
      expect(first.error).not.toContain(adapter.secret);
      expect(failed.outcomes.slice(1).every((o) => o.blocked)).toBe(true);
      expect((await run.store.getSourceState(run.config.name))?.suspended).toBeDefined();
      fake.clearFaults();

      for (let i = 0; i < 2; i += 1) {
        run.restart();
        const blocked = await run.pass();
        expect(blocked.outcomes.map((o) => [o.resource, o.blocked])).toEqual([
          [adapter.resource, true],
          [adapter.otherResource, true],
        ]);
        expect(blocked.outcomes[0]!.error).toMatch(/suspended/);
        expect(blocked.requests).toEqual([]);
      }
      run.restart(configFor({ schedule: "*/2 * * * *" }));
      const lifted = await run.pass();
      expectOk(lifted);
    });

    it("403 suspends only that resource, persisted across restarts, with no further requests to it; the change made meanwhile arrives once it is lifted", async () => {
      const { fake, run, configFor } = await setup({ resources: [adapter.resource, adapter.otherResource] });
      fake.injectFault({ fault: answers.forbidden, times: Infinity, match: (request) => adapter.isResourceRequest(request) });
      const created = adapter.create(fake);
      const failed = await run.pass();
      const outcome = outcomeOf(failed, adapter.resource);
      expect(outcome.ok).toBe(false);
      expect(outcome.cause).toBe("forbidden");
      expect(outcome.error).toMatch(new RegExp(`^source ${run.config.name}, resource ${adapter.resource}: `));
      expect(outcomeOf(failed, adapter.otherResource).ok).toBe(true);
      expect((await run.resourceState(adapter.resource))?.suspended).toBeDefined();
      // One refusal, not retried (vendors ban IPs after a few).
      expect(failed.requests.filter((r) => adapter.isResourceRequest(lineOf(r)))).toHaveLength(1);
      fake.clearFaults();

      for (let i = 0; i < 2; i += 1) {
        run.restart();
        const blocked = await run.pass();
        expect(outcomeOf(blocked, adapter.resource).blocked).toBe(true);
        expect(outcomeOf(blocked, adapter.otherResource).ok).toBe(true);
        expect(blocked.requests.filter((r) => adapter.isResourceRequest(lineOf(r)))).toEqual([]);
      }
      run.restart(configFor({}, { ignore_fields: ["no_such_field"] }));
      const lifted = await run.pass();
      expectOk(lifted);
      expect(summary(lifted.events)).toEqual([ev("created", created)]);
    });

    it("a 429 asking to wait longer than a pass may wait backs the whole source off at least that long, with no requests meanwhile", async () => {
      const { fake, run, clock } = await setup({ resources: [adapter.resource, adapter.otherResource] });
      const created = adapter.create(fake);
      fake.injectFault({ fault: { type: "status", status: 429, headers: { "retry-after": "300" }, body: { error: "slow down" } }, times: Infinity });
      const failed = await run.pass();
      const outcome = outcomeOf(failed, adapter.resource);
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(new RegExp(`^source ${run.config.name}, resource ${adapter.resource}: .*429`));
      expect(failed.requests.map((r) => `${r.status} ${r.method} ${r.path}`), "the other resource asks no more in this pass").toHaveLength(1);
      expect(outcomeOf(failed, adapter.otherResource).ok).toBe(false);
      const until = (await run.store.getSourceState(run.config.name))?.backoffUntil;
      expect(until, "a persisted back-off").toBeDefined();
      expect(Date.parse(until!)).toBeGreaterThanOrEqual(clock.now() + 240_000);
      fake.clearFaults();
      const back = await expectBackedOffFor(run, 1, 15 * 60_000);
      expect(summary(back.events)).toEqual([ev("created", created)]);
    });

    it("a response over max_response_bytes fails the pass: no deleted, cursor kept; the next pass within the limit recovers", async () => {
      const { fake, run, ids, configFor } = await setup({ resource: { max_delete_min: 1_000_000, max_delete_ratio: 1 } });
      adapter.update(fake, ids[0]);
      adapter.remove(fake, ids[2]);
      const before = await run.resourceState(adapter.resource);
      run.restart(configFor({ max_response_bytes: 2048 }));
      const failed = await run.pass("reconcile");
      const outcome = outcomeOf(failed, adapter.resource);
      expect(outcome.ok).toBe(false);
      expect(outcome.cause).toBe("too-large");
      expect(outcome.error).toMatch(new RegExp(`^source ${run.config.name}, resource ${adapter.resource}: .*max_response_bytes`));
      expect(deletedIn(failed.events)).toEqual([]);
      expect((await run.resourceState(adapter.resource))?.cursor).toEqual(before?.cursor);
      run.restart(configFor());
      const recovered = await run.pass("reconcile");
      expectOk(recovered);
      expect(sorted([...summary(failed.events), ...summary(recovered.events)])).toEqual(sorted([ev("updated", ids[0]), ev("deleted", ids[2])]));
    });
  });
}
