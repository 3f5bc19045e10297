import { startFakeServer, type FakeServer } from "../../../src/simulators/kit.js";
import type { PassOutcomeView } from "../lib/admin.js";
import { daemonDriver, inProcessDriver, type PassDriver } from "../lib/drivers.js";
import { startProxy, type ChaosProxy, type ProxiedRequest, type ProxyFault, type ProxyRule } from "../lib/proxy.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SUBJECTS, type Subject } from "../lib/subjects.js";

/**
 * Source faults: each fault is injected (by a proxy in front of the vendor fake) for exactly one
 * pass, on an incremental and on a reconcile pass, after a round of changes (a create, updates,
 * a delete). Then the fault is lifted and clean passes run. Checked for every scenario:
 * - the faulty pass failed with a clear message naming source, resource and cause (or, where the
 *   fault is harmless for that mode, e.g. an empty incremental page, it changed nothing wrongly);
 * - no `deleted` event for a record that exists (false delete), ever;
 * - the cursor did not move in a failed pass (wrong cursor move);
 * - after the clean passes every change of the round was delivered (nothing lost);
 * - the daemon is still running and healthy;
 * - the fault really hit (the proxy counts faulted responses), else the scenario proves nothing.
 */

type Expect = "fail" | "tolerate" | "n/a";

export interface FaultCase {
  name: string;
  /** Message the failed pass must carry. */
  message: RegExp;
  rule(subject: Subject, elsewhere: string): ProxyRule;
  incremental: Expect | ((subject: Subject) => Expect);
  reconcile: Expect | ((subject: Subject) => Expect);
  /** The round must need at least two list pages. */
  pages?: boolean;
  /** Time to move the clock before the clean pass (a vendor back-off). */
  recoverAfterMs?: (subject: Subject) => number;
  /** After the failed pass, an immediate pass must send no request (Retry-After honoured). */
  honoursRetryAfter?: boolean;
}

/** A 5xx body that echoes what the request carried (headers, query): secrets must not reach logs through it. */
const echo = (request: ProxiedRequest): string =>
  JSON.stringify({ error: `upstream exploded while serving ${request.method} ${request.path}?${request.query.toString()}`, headers: request.headers });

const status = (code: number, headers: Record<string, string> = {}): ProxyFault => ({ kind: "status", status: code, headers, body: echo });

/** A fault on every list request that must fail an incremental and a reconcile pass alike. */
const onLists = (name: string, message: RegExp, fault: (subject: Subject, elsewhere: string) => ProxyFault, more: Partial<FaultCase> = {}): FaultCase => ({
  name,
  message,
  rule: (s, elsewhere) => ({ fault: fault(s, elsewhere), match: s.isList }),
  incremental: "fail",
  reconcile: "fail",
  ...more,
});

/** FacturaScripts answers 429 only for an IP ban: the preset backs off ten minutes. */
const after429 = (retryAfterMs: number) => (s: Subject): number => (s.name === "facturascripts" ? 11 * 60_000 : retryAfterMs);

export const FAULTS: FaultCase[] = [
  onLists("HTTP 500", /HTTP 500/, () => status(500)),
  onLists("HTTP 502", /HTTP 502/, () => status(502)),
  onLists("HTTP 503 with Retry-After: 1", /HTTP 503/, () => status(503, { "retry-after": "1" })),
  onLists("HTTP 429 (Retry-After: 1)", /HTTP 429|rate limit|banned/i, () => status(429, { "retry-after": "1" }), { recoverAfterMs: after429(0) }),
  onLists("HTTP 429 with Retry-After: 600", /HTTP 429|rate limit|banned/i, () => status(429, { "retry-after": "600" }), { recoverAfterMs: after429(601_000), honoursRetryAfter: true }),
  onLists("timeout (no answer)", /timed out/, () => ({ kind: "hang" })),
  onLists("connection reset", /ECONNRESET|socket hang up|connection|closed/i, () => ({ kind: "reset" })),
  onLists("slow body past the timeout", /timed out/, () => ({ kind: "trickle", intervalMs: 250 })),
  onLists("HTML with status 200", /expected JSON|HTML|not a wFirma JSON/i, () => ({ kind: "html" })),
  onLists("truncated JSON", /truncated|invalid JSON|closed/i, () => ({ kind: "truncate" })),
  onLists("valid JSON of the wrong shape", /expected an array|is not an object|has no|shape|not a wFirma/i, (s) => ({ kind: "transform", transform: (body) => ({ body: s.wrongShape(body) }) })),
  {
    name: "empty first page of a complete scan",
    message: /came back empty/,
    rule: (s) => ({ fault: { kind: "transform", transform: (body, context) => s.empty(body, context) }, match: s.isList, nth: [1] }),
    // An empty incremental page is an ordinary "nothing changed".
    incremental: "tolerate",
    reconcile: "fail",
  },
  {
    name: "pagination loop (page 2 repeats page 1)",
    message: /pagination loop|not ascending|repeats|not sorted|did not end/i,
    rule: (s) => ({ fault: { kind: "transform", transform: (_body, context) => ({ body: context.earlier[0] }) }, match: s.isList, nth: [2, 3, 4, 5, 6] }),
    incremental: "fail",
    reconcile: "fail",
    pages: true,
  },
  {
    name: "page missing in the middle (API reports totals)",
    message: /X-Total-Count|total|went missing|short/i,
    rule: (s) => ({ fault: { kind: "transform", transform: (body) => ({ body: s.missingPage(body) }) }, match: s.isList, nth: [2] }),
    // Key-paged incremental walks end at a short page and resume from the last key next time.
    incremental: (s) => (s.totals ? "tolerate" : "n/a"),
    reconcile: (s) => (s.totals ? "fail" : "n/a"),
    pages: true,
  },
  onLists("response over max_response_bytes", /max_response_bytes/, () => ({ kind: "huge", bytes: 3 * 1024 * 1024 })),
  onLists("redirect to another origin", /redirect|another origin/i, (_s, elsewhere) => ({ kind: "redirect", location: (r) => `${elsewhere}/steal${r.path}?${r.query.toString()}` })),
];

export interface ScenarioResult {
  subject: string;
  fault: string;
  mode: "incremental" | "reconcile";
  expected: Expect;
  /** The faulty pass failed (for the resource under test). */
  failed: boolean;
  message: string;
  clear: boolean;
  faultHit: boolean;
  falseDeletes: number;
  wrongCursorMove: boolean;
  lost: string[];
  /** Changes the first clean incremental pass did not find (found later by a reconcile at best). */
  lostByIncremental: string[];
  backoffWaitedMs: number;
  recovered: boolean;
  alive: boolean;
  retryAfterHonoured?: boolean;
  problems: string[];
}

export interface SubjectResult {
  subject: string;
  driver: PassDriver["kind"];
  scenarios: ScenarioResult[];
  elsewhereHits: number;
  cleanExit: boolean;
  error?: string;
}

export interface SourceFaultOptions {
  subjects: string[];
  driver: "daemon" | "in-process";
  modes?: Array<"incremental" | "reconcile">;
  faults?: string[];
  /** Extra source settings (the regression tests use a shorter timeout). */
  sourceExtra?: Record<string, unknown>;
  scratch: Scratch;
  log: Logger;
}

export async function sourceFaults(options: SourceFaultOptions): Promise<SubjectResult[]> {
  return Promise.all(options.subjects.map((name) => runSubject(name, options)));
}

async function runSubject(name: string, options: SourceFaultOptions): Promise<SubjectResult> {
  const subject = await SUBJECTS[name]!();
  const elsewhereHits: string[] = [];
  const elsewhere: FakeServer = await startFakeServer((request) => {
    elsewhereHits.push(`${request.method} ${request.path}`);
    return { status: 200, body: [] };
  });
  const proxy: ChaosProxy = await startProxy(subject.upstream);
  const result: SubjectResult = { subject: name, driver: options.driver, scenarios: [], elsewhereHits: 0, cleanExit: false };
  let driver: PassDriver | undefined;
  try {
    const make = options.driver === "daemon" ? daemonDriver : inProcessDriver;
    driver = await make(subject.sourceConfig(proxy.url, options.sourceExtra), options.scratch, `source-${name}`);
    for (const fault of FAULTS) {
      if (options.faults && !options.faults.includes(fault.name)) continue;
      for (const mode of options.modes ?? ["incremental", "reconcile"]) {
        const rawExpect = fault[mode];
        const expected = typeof rawExpect === "function" ? rawExpect(subject) : rawExpect;
        if (expected === "n/a") continue;
        const scenario = await runScenario(subject, driver, proxy, fault, mode, expected, elsewhere.url);
        result.scenarios.push(scenario);
        if (scenario.problems.length > 0) options.log(`  ${name} / ${fault.name} / ${mode}: ${scenario.problems.join("; ")}`);
      }
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    options.log(`  ${name}: harness error: ${result.error}`);
  } finally {
    if (driver) result.cleanExit = (await driver.close().catch(() => ({ cleanExit: false }))).cleanExit;
    result.elsewhereHits = elsewhereHits.length;
    await proxy.close();
    await elsewhere.close();
    await subject.close();
  }
  return result;
}

async function runScenario(subject: Subject, driver: PassDriver, proxy: ChaosProxy, fault: FaultCase, mode: "incremental" | "reconcile", expected: Expect, elsewhere: string): Promise<ScenarioResult> {
  const problems: string[] = [];
  const round = subject.round(fault.pages ? subject.pageSize + 5 : 1);
  const before = await driver.cursors();
  proxy.arm(fault.rule(subject, elsewhere));
  let outcomes: PassOutcomeView[] = [];
  try {
    outcomes = await driver.pass(mode);
  } finally {
    proxy.disarm();
  }
  const faultHit = proxy.applied > 0;
  if (!faultHit) problems.push("the fault was never hit");
  const outcome = outcomes.find((o) => o.resource === subject.resource);
  const failed = outcome !== undefined && !outcome.ok;
  const message = outcome?.error ?? "";
  const clear = !failed || (fault.message.test(message) && message.includes(`source ${subject.name}, resource ${subject.resource}:`));
  if (failed && !clear) problems.push(`unclear message: ${message}`);
  if (!failed && expected === "fail") problems.push(`the pass did not fail (${outcome ? `ok, ${outcome.records} records, ${outcome.events} events` : "no outcome"})`);
  const after = await driver.cursors();
  const wrongCursorMove = failed && JSON.stringify(after) !== JSON.stringify(before);
  if (wrongCursorMove) problems.push(`cursor moved in a failed pass: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);

  let retryAfterHonoured: boolean | undefined;
  if (fault.honoursRetryAfter && failed) {
    const asked = proxy.log.length;
    const next = await driver.pass(mode);
    const sent = proxy.log.slice(asked).filter((r) => subject.isList({ method: r.method, path: r.path, query: new URLSearchParams(r.query), headers: {}, body: "" })).length;
    const blocked = next.find((o) => o.resource === subject.resource)?.blocked === true;
    retryAfterHonoured = sent === 0 && blocked;
    if (!retryAfterHonoured) problems.push(`Retry-After: 600 not honoured: the next pass right after sent ${sent} list request(s) (${blocked ? "blocked" : "not blocked"})`);
  }
  const recoverAfter = fault.recoverAfterMs?.(subject) ?? 0;
  if (recoverAfter > 0) await driver.advanceClock(recoverAfter);

  // Clean passes. First an incremental one alone: what the round created or updated must be found
  // by it (a cursor moved too far would hide it until a reconcile). Then two reconciles for the
  // deletion (also those confirmed by absence). A vendor back-off longer than the fault asked for
  // is waited out (moving the clock) and reported.
  let recovered = true;
  let backoffWaitedMs = 0;
  const lostNow = (wanted: string[]): string[] => {
    const events = new Set(driver.events());
    return wanted.filter((e) => !events.has(e) && !(e.includes(".updated:") && events.has(e.replace(".updated:", ".created:"))));
  };
  const changed = [...round.created.map((id) => `${subject.typePrefix}.created:${id}`), ...round.updated.filter((id) => !round.deleted.includes(id)).map((id) => `${subject.typePrefix}.updated:${id}`)];
  const deleted = round.deleted.map((id) => `${subject.typePrefix}.deleted:${id}`);
  let lostByIncremental: string[] = [];
  for (const [step, clean] of (["incremental", "reconcile", "reconcile"] as const).entries()) {
    let mine: PassOutcomeView | undefined;
    for (let tries = 0; tries < 3; tries += 1) {
      mine = (await driver.pass(clean)).find((o) => o.resource === subject.resource);
      const until = mine?.blocked ? /until (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(mine.error ?? "")?.[1] : undefined;
      if (!until) break;
      const wait = Math.max(0, Date.parse(until) - driver.now()) + 1000;
      backoffWaitedMs += wait;
      await driver.advanceClock(wait);
    }
    if (!mine?.ok) {
      recovered = false;
      problems.push(`clean ${clean} pass failed: ${mine?.error ?? "no outcome"}`);
      break;
    }
    if (step === 0) {
      await driver.settle();
      lostByIncremental = lostNow(changed);
      if (lostByIncremental.length > 0) problems.push(`not found by the clean incremental pass (cursor moved past them?): ${lostByIncremental.slice(0, 4).join(", ")}${lostByIncremental.length > 4 ? ` (+${lostByIncremental.length - 4})` : ""}`);
    }
  }
  if (backoffWaitedMs > 0) problems.push(`note: waited out a back-off of ${Math.round(backoffWaitedMs / 1000)} s`);
  await driver.settle();
  const lost = lostNow([...changed, ...deleted]);
  if (lost.length > 0) problems.push(`not delivered after recovery: ${lost.slice(0, 5).join(", ")}${lost.length > 5 ? ` (+${lost.length - 5})` : ""}`);
  const events = new Set(driver.events());
  const falseDeletes = [...events].filter((e) => e.startsWith(`${subject.typePrefix}.deleted:`) && subject.exists(e.slice(e.indexOf(":") + 1))).length;
  if (falseDeletes > 0) problems.push(`${falseDeletes} false deletes`);
  const alive = await driver.alive();
  if (!alive) problems.push("the daemon is not running");
  return { subject: subject.name, fault: fault.name, mode, expected, failed, message, clear, faultHit, falseDeletes, wrongCursorMove, lost, lostByIncremental, backoffWaitedMs, recovered, alive, ...(retryAfterHonoured !== undefined ? { retryAfterHonoured } : {}), problems };
}

export function sourceFaultRows(results: SubjectResult[]): Row[] {
  return results.map((r) => {
    const s = r.scenarios;
    const shouldFail = s.filter((x) => x.expected === "fail");
    const failedClearly = shouldFail.filter((x) => x.failed && x.clear);
    const tolerated = s.filter((x) => x.expected === "tolerate");
    const falseDeletes = s.reduce((n, x) => n + x.falseDeletes, 0);
    const wrongMoves = s.filter((x) => x.wrongCursorMove).length;
    const lost = s.reduce((n, x) => n + x.lost.length, 0);
    const skipped = s.reduce((n, x) => n + x.lostByIncremental.length, 0);
    const recovered = s.filter((x) => x.recovered).length;
    const alive = s.every((x) => x.alive);
    const hit = s.filter((x) => x.faultHit).length;
    const retryAfter = s.filter((x) => x.retryAfterHonoured !== undefined);
    const ok = !r.error && falseDeletes === 0 && wrongMoves === 0 && lost === 0 && skipped === 0 && failedClearly.length === shouldFail.length && recovered === s.length && alive && hit === s.length && r.elsewhereHits === 0 && retryAfter.every((x) => x.retryAfterHonoured) && (r.driver !== "daemon" || r.cleanExit);
    const faults = new Set(s.map((x) => x.fault)).size;
    const bad = s.filter((x) => x.problems.some((p) => !p.startsWith("note:"))).map((x) => `${x.fault} / ${x.mode}: ${x.problems.join(", ")}`);
    return {
      suite: "Source faults",
      scenario: `${r.subject} (${r.driver}): ${faults} faults × incremental and reconcile = ${s.length} scenarios`,
      figures:
        `false deletes ${falseDeletes}; wrong cursor moves ${wrongMoves}; passes failed with a clear message ${failedClearly.length}/${shouldFail.length}` +
        `${tolerated.length ? ` (+${tolerated.length} harmless in that mode: ${[...new Set(tolerated.map((x) => `${x.fault} on ${x.mode}`))].join(", ")}; nothing lost)` : ""}; ` +
        `changes the next incremental pass missed ${skipped}; lost after recovery ${lost}; recovered on the next clean pass ${recovered}/${s.length}; daemon still running ${alive ? "yes" : "no"}; ` +
        `faults hit ${hit}/${s.length}; requests to the other origin ${r.elsewhereHits}` +
        `${retryAfter.length ? `; long Retry-After honoured ${retryAfter.filter((x) => x.retryAfterHonoured).length}/${retryAfter.length}` : ""}`,
      result: ok ? "pass" : "FAIL",
      ...(ok ? {} : { notes: [r.error ? `harness: ${r.error}` : "", ...bad].filter(Boolean).slice(0, 6).join("; ") }),
    };
  });
}
