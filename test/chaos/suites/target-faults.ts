import { startFakeRest, type FakeRest } from "../../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver, type ReceivedRequest } from "../../helpers/receiver.js";
import { restSource, stateFile, target, writeConfig } from "../lib/config.js";
import type { CommandRunner } from "../lib/once.js";
import { peekState } from "../lib/peek.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";
import { opensslAvailable, selfSignedCert, startTlsReceiver } from "../lib/tls-receiver.js";

/**
 * Target faults, each on its own state and receiver, through `retrohook once` (one attempt per
 * due delivery, then exit) with the test clock moved between runs:
 * 1. a change is detected and its first delivery meets the fault;
 * 2. the outcome must be the design's: retried (kept pending, reason kept, `once` exit 0) or
 *    dead-lettered at once (reason kept, exit 1); redirects are never followed, a self-signed
 *    certificate is refused; a Retry-After is a floor for the next attempt;
 * 3. the fault is lifted (for TLS: the operator sets `tls.ca`) and the clock moved past the
 *    retry: the event arrives with the same webhook-id and a valid signature. A dead letter
 *    unblocks the record's next event, and `replay` re-sends it under its id.
 */

type Outcome = "retry" | "dead" | "delivered";

export interface TargetCase {
  name: string;
  expect: Outcome;
  reason: RegExp;
  /** How the receiver answers the first attempt. */
  receiver?: (receiver: Receiver) => void;
  targetExtra?: Record<string, unknown>;
  tls?: boolean;
  redirect?: number;
  /** An attempt before this (ms after the failure) must not happen. */
  floorMs?: number;
}

export const TARGET_CASES: TargetCase[] = [
  { name: "HTTP 500", expect: "retry", reason: /HTTP 500/, receiver: (r) => r.replySequence([{ status: 500, body: "boom" }]) },
  { name: "HTTP 503 with Retry-After: 600", expect: "retry", reason: /HTTP 503/, receiver: (r) => r.replySequence([{ status: 503, headers: { "retry-after": "600" } }]), floorMs: 600_000 },
  { name: "HTTP 429", expect: "retry", reason: /HTTP 429/, receiver: (r) => r.replySequence([{ status: 429 }]) },
  { name: "timeout", expect: "retry", reason: /timeout/i, receiver: (r) => r.replySequence([{ status: 200, delayMs: 3000 }]), targetExtra: { timeout: "1s" } },
  { name: "connection reset", expect: "retry", reason: /connection|ECONNRESET|socket hang up/i, receiver: (r) => r.replySequence([{ status: 200, reset: true }]) },
  { name: "self-signed TLS certificate (no tls.ca)", expect: "retry", reason: /tls|self.signed|certificate/i, tls: true },
  { name: "redirect 302 (not followed)", expect: "retry", reason: /redirect .*not followed/, redirect: 302 },
  { name: "redirect 307 (not followed)", expect: "retry", reason: /redirect .*not followed/, redirect: 307 },
  { name: "HTTP 400", expect: "dead", reason: /HTTP 400/, receiver: (r) => r.replySequence([{ status: 400, body: "bad payload" }]) },
  { name: "HTTP 410", expect: "dead", reason: /HTTP 410/, receiver: (r) => r.replySequence([{ status: 410, body: "gone" }]) },
  { name: "slow reader (reads after 500 ms, within the timeout)", expect: "delivered", reason: /./, receiver: (r) => r.setReadDelay(500), targetExtra: { timeout: "2s" } },
  { name: "slow reader (reads after 2.5 s, past the 1 s timeout)", expect: "retry", reason: /timeout/i, receiver: (r) => r.setReadDelay(2500), targetExtra: { timeout: "1s" } },
];

export interface TargetCaseResult {
  name: string;
  expected: Outcome;
  outcome: Outcome | "nothing";
  reasonKept: string;
  exitCode: number | null;
  notFollowed?: boolean;
  floorHonoured?: boolean;
  deliveredAfter: boolean;
  sameId: boolean;
  signatureOk: boolean;
  unblocked?: boolean;
  replayedSameId?: boolean;
  problems: string[];
}

const HOUR = 3_600_000;

export async function targetFaults(options: { run: CommandRunner; scratch: Scratch; log: Logger; cases?: string[]; parallel?: number }): Promise<TargetCaseResult[]> {
  const openssl = opensslAvailable();
  if (!openssl) options.log("  target faults: openssl not found; the self-signed certificate case is skipped");
  const cases = TARGET_CASES.filter((c) => (!options.cases || options.cases.includes(c.name)) && (openssl || !c.tls));
  const results: TargetCaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const index = next++;
      results[index] = await runCase(cases[index]!, options);
      if (results[index]!.problems.length) options.log(`  target ${cases[index]!.name}: ${results[index]!.problems.join("; ")}`);
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 1 }, worker));
  return results;
}

async function runCase(testCase: TargetCase, options: { run: CommandRunner; scratch: Scratch }): Promise<TargetCaseResult> {
  const problems: string[] = [];
  const dir = options.scratch.dir("target");
  const api: FakeRest = await startFakeRest({ token: SECRETS.restToken });
  const receiver = await startReceiver();
  const redirectHits = await startReceiver();
  const cert = testCase.tls ? selfSignedCert(dir) : undefined;
  const tls = cert ? await startTlsReceiver(cert) : undefined;
  const result: TargetCaseResult = { name: testCase.name, expected: testCase.expect, outcome: "nothing", reasonKept: "", exitCode: null, deliveredAfter: false, sameId: false, signatureOk: false, problems };
  try {
    api.seed(3);
    const url = tls?.url ?? receiver.url;
    const config = (extra: Record<string, unknown> = {}): string => writeConfig(dir, { sources: [restSource(api.url)], targets: [target(url, { ...testCase.targetExtra, ...extra })] });
    let path = config();
    const file = stateFile(dir);
    const ids = [{ source: "legacy", resource: "items" }];
    const at = (ms: number): Record<string, string> => ({ RETROHOOK_TEST_CLOCK_OFFSET_MS: String(ms) });
    const baseline = await options.run(["once", "-c", path], at(0));
    if (baseline.code !== 0) problems.push(`baseline once exited ${baseline.code}: ${baseline.stderr.slice(-300)}`);

    if (testCase.redirect) receiver.replySequence([{ status: testCase.redirect, headers: { location: `${redirectHits.url}?moved=1` } }]);
    testCase.receiver?.(receiver);
    api.update(1, { name: "changed once" });
    const first = await options.run(["once", "-c", path], at(0));
    result.exitCode = first.code;
    const requests = (): ReceivedRequest[] => tls?.requests ?? receiver.requests;
    const attempted = requests().length;
    const peek = await peekState(file, ids);
    const pending = Object.values(peek.pending);
    if (peek.deadLetters.length > 0) {
      result.outcome = "dead";
      result.reasonKept = peek.deadLetters[0]!.reason;
    } else if (pending.length > 0) {
      result.outcome = "retry";
    } else if (attempted > 0) {
      result.outcome = "delivered";
    }
    if (result.outcome === "retry") {
      result.reasonKept = Object.values(peek.pendingErrors)[0] ?? "";
      if (!testCase.reason.test(result.reasonKept)) problems.push(`retry reason not kept or unclear: "${result.reasonKept}"`);
      if (!/pending: erp evt_\w+ next attempt/.test(first.stderr)) problems.push("once did not list the pending retry on stderr");
      await options.run(["status", "--json", "-c", path], at(0));
    }
    if (result.outcome !== testCase.expect) problems.push(`outcome ${result.outcome}, the design says ${testCase.expect}`);
    if (result.outcome === "dead" && !testCase.reason.test(result.reasonKept)) problems.push(`dead-letter reason unclear: ${result.reasonKept}`);
    const wantExit = testCase.expect === "dead" ? 1 : 0;
    if (first.code !== wantExit) problems.push(`once exited ${first.code}, expected ${wantExit}`);
    if (testCase.redirect) {
      result.notFollowed = redirectHits.requests.length === 0;
      if (!result.notFollowed) problems.push("the redirect was followed");
    }
    const firstId = requests()[0]?.headers["webhook-id"] ?? pending[0];

    if (testCase.expect === "retry") {
      receiver.reply({ status: 200, body: "ok" });
      receiver.setReadDelay(0);
      if (testCase.tls) path = config({ tls: { ca_file: cert!.certFile } });
      if (testCase.floorMs) {
        const before = requests().length;
        await options.run(["once", "-c", path], at(testCase.floorMs - 60_000));
        result.floorHonoured = requests().length === before;
        if (!result.floorHonoured) problems.push(`an attempt came before Retry-After (${testCase.floorMs / 1000} s) had passed`);
      }
      const retried = await options.run(["once", "-c", path], at(HOUR));
      if (retried.code !== 0) problems.push(`the retry's once exited ${retried.code}: ${retried.stderr.slice(-300)}`);
    }
    if (testCase.expect === "dead") {
      // The dead letter unblocks the record's next event; replay re-sends the dead one under its id.
      receiver.reply({ status: 200, body: "ok" });
      api.update(1, { name: "changed twice" });
      const before = requests().length;
      await options.run(["once", "-c", path], at(0));
      const later = requests().slice(before).map((r) => JSON.parse(r.body) as { data: { object: { name: string } } });
      result.unblocked = later.some((b) => b.data.object.name === "changed twice");
      if (!result.unblocked) problems.push("the record's next event did not go after the dead letter");
      const deadId = String(firstId);
      const replay = await options.run(["replay", "--event", deadId, "-c", path], at(0));
      if (replay.code !== 0) problems.push(`replay exited ${replay.code}: ${replay.stderr.slice(-200)}`);
      const count = requests().length;
      await options.run(["once", "-c", path], at(0));
      result.replayedSameId = requests().slice(count).some((r) => r.headers["webhook-id"] === deadId);
      if (!result.replayedSameId) problems.push("replay did not deliver the dead letter under its id");
    }
    const final = requests().filter((r) => (JSON.parse(r.body) as { data: { object: { name: string } } }).data.object.name === "changed once");
    const delivered = final.filter((r) => r.headers["webhook-id"] === firstId);
    result.deliveredAfter = testCase.expect === "dead" ? result.replayedSameId === true : delivered.length > 0 && (await peekState(file, ids)).events === 0;
    result.sameId = final.length > 0 && final.every((r) => r.headers["webhook-id"] === firstId);
    try {
      for (const request of requests()) verifySignature(request, SECRETS.webhookSecret);
      result.signatureOk = requests().length > 0;
    } catch (error) {
      problems.push(`signature: ${(error as Error).message}`);
    }
    if (!result.deliveredAfter) problems.push("not delivered after the fault was lifted");
    if (!result.sameId) problems.push("delivered under another id than the first attempt");
    if (final.length > 0 && new Set(final.map((r) => r.body)).size > 1) problems.push("the body changed between attempts");
  } catch (error) {
    problems.push(`harness: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await api.close();
    await receiver.close();
    await redirectHits.close();
    await tls?.close();
  }
  return result;
}

export function targetFaultRows(results: TargetCaseResult[]): Row[] {
  const ok = results.filter((r) => r.problems.length === 0).length;
  const lost = results.filter((r) => !r.deliveredAfter).length;
  const by = (o: string): string[] => results.filter((r) => r.outcome === o).map((r) => r.name);
  const details = results
    .map((r) => `${r.name} → ${r.outcome}${r.reasonKept ? ` ("${r.reasonKept.slice(0, 70)}")` : ""}${r.outcome === r.expected ? "" : ` (design: ${r.expected})`}${r.floorHonoured !== undefined ? `, Retry-After floor kept: ${r.floorHonoured ? "yes" : "no"}` : ""}${r.notFollowed !== undefined ? `, not followed: ${r.notFollowed ? "yes" : "no"}` : ""}${r.unblocked !== undefined ? `, next event unblocked: ${r.unblocked ? "yes" : "no"}, replay same id: ${r.replayedSameId ? "yes" : "no"}` : ""}`)
    .join("; ");
  const tlsSkipped = !results.some((r) => r.name.includes("TLS"));
  return [
    {
      suite: "Target faults",
      scenario: `${results.length} receiver faults, each on a fresh state, through retrohook once with the clock moved${tlsSkipped ? " (TLS case skipped: no openssl here)" : ""}`,
      figures:
        `as the design says ${ok}/${results.length}; retried (kept pending, reason kept) ${by("retry").length}, dead-lettered at once (reason kept) ${by("dead").length}, delivered ${by("delivered").length}; ` +
        `delivered after the fault was lifted with the first attempt's webhook-id and a valid signature ${results.filter((r) => r.deliveredAfter && r.sameId && r.signatureOk).length}/${results.length}; lost ${lost}. ${details}`,
      result: ok === results.length ? "pass" : "FAIL",
      ...(ok === results.length ? {} : { notes: results.filter((r) => r.problems.length).map((r) => `${r.name}: ${r.problems.join(", ")}`).join("; ") }),
    },
  ];
}
