import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { WHY_NOT_REASONS, type WhyNotReason } from "../../src/core/explain.js";
import { Retention, retentionOf } from "../../src/pipeline/retention.js";
import type { ExplainResult } from "../../src/server/explain.js";
import type { Fault } from "../../src/simulators/kit.js";
import { silentLogger } from "../../src/telemetry/logger.js";
import { paidThenRenamed, seenThenNotListed, startExplainRun, type ExplainRunOptions } from "./explain-scenario.js";

/**
 * Every "why not" reason `explain` can give, each on a scripted run (fake vendor, fake clock,
 * real passes and deliveries), in both outputs: the JSON `--json` prints (and GET /api/explain
 * answers) and the text people read. The cases are keyed by `WhyNotReason`: a reason added to
 * the code without a case here fails to compile and fails the completeness check below.
 */

interface Outputs {
  /** What `explain --json` prints, parsed back. */
  json: ExplainResult;
  text: string;
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function run(options: ExplainRunOptions, script: (run: Awaited<ReturnType<typeof startExplainRun>>) => Promise<string>, seed = 3): Promise<Outputs> {
  const started = await startExplainRun(options, seed);
  close = started.close;
  const address = await script(started);
  const { view, text } = await started.s.explain(address);
  return { json: JSON.parse(JSON.stringify(view, null, 2)) as ExplainResult, text };
}

/** A clean pass, then one the vendor answers with `fault`; explains item 1. */
const afterFailedPass = (fault: Fault): Promise<Outputs> =>
  run({}, async ({ api, s }) => {
    await s.pass();
    api.injectFault({ fault, times: 5 });
    await s.pass();
    return "legacy/items/1";
  });

const CASES: Record<WhyNotReason, { script: () => Promise<Outputs>; says: RegExp }> = {
  "unknown-record": {
    script: () => run({}, async ({ s }) => (await s.pass(), "legacy/items/999")),
    says: /no pass has listed this record/,
  },
  baseline: {
    script: () => run({}, async ({ s }) => (await s.pass(), "legacy/items/2")),
    says: /no created: the record already existed at the resource's first pass/,
  },
  unchanged: {
    script: () => run({}, seenThenNotListed),
    says: /passes? saw it since its last event .* found the same text or the same fingerprint/,
  },
  "ignored-fields": {
    script: () => run({}, async ({ api, s }) => (await s.pass(), api.update(3, { touched_at: "2026-11-23T10:05:00Z" }), await s.pass(), "legacy/items/3")),
    says: /only ignore_fields changed \(modified_at, touched_at\): no event/,
  },
  "transition-already-true": {
    script: () => run({}, paidThenRenamed),
    says: /paid did not fire: it was already true before this change/,
  },
  "transition-from-mismatch": {
    script: () =>
      run({ resource: "transitions: [{ event: shipped, field: status, to: shipped, from: paid }]" }, async ({ api, s }) => {
        await s.pass();
        api.update(1, { status: "shipped" }); // from issued, not from paid
        await s.pass();
        return "legacy/items/1";
      }),
    says: /: shipped did not fire: status did not come from the rule.s `from` value/,
  },
  "not-seen-since": {
    script: () => run({}, seenThenNotListed),
    says: /not seen since .* did not list it .* the next reconcile \(0 \*\/6 \* \* \*\) compares every record/,
  },
  "deletion-awaiting-confirmation": {
    script: () => run({}, async ({ api, s }) => (await s.pass(), api.remove(2), await s.pass("reconcile"), "legacy/items/2")),
    says: /missing from the reconcile at .* deleted only when the next reconcile misses it too/,
  },
  "deletion-held": {
    script: () =>
      run(
        { resource: "max_delete_min: 1\n        max_delete_ratio: 0.5" },
        async ({ api, s }) => {
          await s.pass();
          for (const id of [1, 2, 3]) api.remove(id);
          await s.pass("reconcile");
          return "legacy/items/1";
        },
        4,
      ),
    says: /held by the mass-deletion guard .*--accept-deletes/,
  },
  "source-suspended": {
    script: () => afterFailedPass({ type: "status", status: 401, body: { error: "unauthorized" } }),
    says: /the source is suspended since .*HTTP 401/,
  },
  "resource-suspended": {
    script: () => afterFailedPass({ type: "status", status: 403, body: { error: "forbidden" } }),
    says: /the resource is suspended since .*403.*--resource items/,
  },
  "backing-off": {
    script: () => afterFailedPass({ type: "status", status: 429, headers: { "Retry-After": "3600" }, body: { error: "slow down" } }),
    says: /the source backs off until .*: no pass runs before then/,
  },
  "out-of-budget": {
    script: () =>
      run({ source: "budget: { requests: 3, per: day }" }, async ({ s }) => {
        await s.pass();
        for (let i = 0; i < 5; i++) await s.budgets.get("legacy")!.spend().catch(() => undefined);
        return "legacy/items/1";
      }),
    says: /the request budget \(3 per day\) is spent/,
  },
  "not-routed": {
    script: () => run({}, paidThenRenamed),
    says: /item\.updated → crm: not routed: the target's events \(item\.created, item\.deleted\) do not match item\.updated/,
  },
  filtered: {
    script: () =>
      run({ top: "expressions:\n  paid_only: 'data.object.status = \"paid\"'", targets: '  - { name: erp, url: "{receiver}", events: ["item.*"] }\n  - { name: books, url: "{receiver}", filter: { use: paid_only } }' }, async ({ api, s }) => {
        await s.pass();
        api.update(1, { name: "renamed" });
        await s.pass();
        await s.deliver();
        return "legacy/items/1";
      }),
    says: /item\.updated → books: filtered/,
  },
  pruned: {
    script: () =>
      run({ top: "state: { retention: { events: 10m } }" }, async ({ api, s }) => {
        await s.pass();
        api.update(1, { name: "renamed" });
        await s.pass();
        await s.deliver();
        s.clock.advance(30 * 60_000);
        await new Retention(s.store, retentionOf(s.config), s.clock, silentLogger()).sweep();
        return "legacy/items/1";
      }),
    says: /pruned \(state\.retention\.events = 10m\)/,
  },
};

describe("explain: every why-not reason, in JSON and in text", () => {
  it("has a scripted case for every reason the code can give", () => {
    expect(Object.keys(CASES).sort()).toEqual([...WHY_NOT_REASONS].sort());
    // And every reason the code writes is in the list (a literal added to explain.ts without it).
    const source = readFileSync(new URL("../../src/core/explain.ts", import.meta.url), "utf8");
    const written = new Set([...source.matchAll(/reason: ([^,\n]+)/g)].flatMap((match) => [...match[1]!.matchAll(/"([a-z-]+)"/g)].map((m) => m[1]!)));
    expect(written.size).toBeGreaterThan(10);
    for (const reason of written) expect(WHY_NOT_REASONS, `explain.ts gives "${reason}"`).toContain(reason);
  });

  for (const reason of WHY_NOT_REASONS) {
    it(reason, async () => {
      const { json, text } = await CASES[reason].script();
      const given = json.whyNot.filter((w) => w.reason === reason);
      expect(given.length, `reasons given: ${json.whyNot.map((w) => w.reason).join(", ")}`).toBeGreaterThan(0);
      expect(given.map((w) => w.text).join("\n")).toMatch(CASES[reason].says);
      const lines = text.split("\n").filter((line) => line.startsWith(`  - [${reason}] `));
      expect(lines.length, text).toBe(given.length);
      expect(lines.join("\n")).toMatch(CASES[reason].says);
    });
  }
});
