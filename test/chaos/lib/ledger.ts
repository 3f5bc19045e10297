import type { FakeRest, Item } from "../../helpers/fake-rest.js";
import { verifySignature, type ReceivedRequest } from "../../helpers/receiver.js";

export { seededRandom } from "../../helpers/random.js";

/**
 * Every state every record of the fake REST API ever had, and the check of what a receiver got
 * against it. Each change writes a fresh `rev`, so no state repeats and every event names
 * exactly one state.
 *
 * Observable change (the issue's definition): each record's final state must be delivered;
 * every event the receiver got must be consistent (its object is a state the record really had,
 * `paid` only for a paid state, `deleted` only for a deleted record, per-record order kept). A
 * record created and deleted between two passes was never observable; it is counted apart.
 */

export type ChangeKind = "create" | "update" | "pay" | "delete";

interface History {
  /** Canonical JSON of each state, oldest first. */
  states: string[];
  deleted: boolean;
  /** Existed at the baseline: its first state raises no event. */
  baseline: boolean;
}

export interface DeliveryFigures {
  requests: number;
  distinctEvents: number;
  /** Requests whose webhook-id was delivered before. */
  duplicates: number;
  /** Changes (type, record, state) delivered under more than one id — must be 0. */
  splitIds: number;
  badSignatures: number;
  idMismatches: number;
  inconsistent: number;
  orderViolations: number;
  /** Records whose final state must be delivered (changed since the baseline, or deleted after being seen). */
  finalStates: number;
  delivered: number;
  lost: number;
  /** Created and deleted between passes: never observable. */
  unobservable: number;
  falseDeletes: number;
  problems: string[];
}

/** Figures with every count at 0. */
export function emptyFigures(requests: number): DeliveryFigures {
  return { requests, distinctEvents: 0, duplicates: 0, splitIds: 0, badSignatures: 0, idMismatches: 0, inconsistent: 0, orderViolations: 0, finalStates: 0, delivered: 0, lost: 0, unobservable: 0, falseDeletes: 0, problems: [] };
}

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export class Ledger {
  readonly history = new Map<string, History>();
  readonly made: Record<ChangeKind, number> = { create: 0, update: 0, pay: 0, delete: 0 };
  private rev = 0;

  constructor(readonly api: FakeRest) {}

  /** Records the API's current records as the baseline (call after seeding, before the first pass). */
  baseline(): void {
    for (const item of this.api.items.values()) this.history.set(String(item.id), { states: [canonical(item)], deleted: false, baseline: true });
  }

  get changes(): number {
    return this.made.create + this.made.update + this.made.pay + this.made.delete;
  }

  create(): Item {
    const item = this.api.create({ rev: ++this.rev, note: `created ${this.rev}` });
    this.history.set(String(item.id), { states: [canonical(item)], deleted: false, baseline: false });
    this.made.create += 1;
    return item;
  }

  update(id: number, patch: Partial<Item> = {}): Item {
    const item = this.api.update(id, { rev: ++this.rev, name: `Item ${id} r${this.rev}`, ...patch });
    this.history.get(String(id))!.states.push(canonical(item));
    this.made.update += 1;
    return item;
  }

  pay(id: number): Item {
    const item = this.api.update(id, { rev: ++this.rev, status: "paid" });
    this.history.get(String(id))!.states.push(canonical(item));
    this.made.pay += 1;
    return item;
  }

  remove(id: number): void {
    this.api.remove(id);
    this.history.get(String(id))!.deleted = true;
    this.made.delete += 1;
  }

  /** One random change; `random` in [0, 1). Keeps the live record count near `target`. */
  randomChange(random: () => number, target = 300): ChangeKind {
    const live = [...this.api.items.keys()];
    const roll = random();
    const createBias = live.length < target ? 0.35 : 0.2;
    if (live.length === 0 || roll < createBias) {
      this.create();
      return "create";
    }
    const id = live[Math.floor(random() * live.length)]!;
    if (roll < createBias + 0.18) {
      this.remove(id);
      return "delete";
    }
    const unpaid = this.api.items.get(id)!.status !== "paid";
    if (unpaid && roll < createBias + 0.35) {
      this.pay(id);
      return "pay";
    }
    this.update(id);
    return "update";
  }

  /** Checks everything `requests` holds against the history. `secret` verifies signatures. */
  verify(requests: readonly ReceivedRequest[], secret: string): DeliveryFigures {
    const figures = emptyFigures(requests.length);
    const problem = (text: string): void => {
      if (figures.problems.length < 20) figures.problems.push(text);
    };
    const seenIds = new Set<string>();
    const idsByChange = new Map<string, Set<string>>();
    const lastRank = new Map<string, number>();
    const deliveredStates = new Map<string, Set<string>>();
    const deletedDelivered = new Set<string>();
    const anyEvent = new Set<string>();
    for (const request of requests) {
      let body: { id: string; type: string; record_id: string; data: { object: unknown } };
      try {
        body = JSON.parse(request.body) as typeof body;
      } catch {
        figures.inconsistent += 1;
        problem(`unparseable body: ${request.body.slice(0, 80)}`);
        continue;
      }
      try {
        verifySignature(request, secret);
      } catch (error) {
        figures.badSignatures += 1;
        problem(`bad signature on ${body.id}: ${(error as Error).message}`);
      }
      if (request.headers["webhook-id"] !== body.id) {
        figures.idMismatches += 1;
        problem(`webhook-id ${String(request.headers["webhook-id"])} ≠ body id ${body.id}`);
      }
      if (seenIds.has(body.id)) figures.duplicates += 1;
      seenIds.add(body.id);
      const id = body.record_id;
      anyEvent.add(id);
      const history = this.history.get(id);
      const event = body.type.slice(body.type.indexOf(".") + 1);
      const state = canonical(body.data.object);
      const changeKey = `${event}:${id}:${state}`;
      const ids = idsByChange.get(changeKey) ?? new Set<string>();
      ids.add(body.id);
      idsByChange.set(changeKey, ids);
      if (!history) {
        figures.inconsistent += 1;
        problem(`${body.type} for unknown record ${id}`);
        continue;
      }
      let rank: number;
      if (event === "deleted") {
        if (!history.deleted) {
          figures.falseDeletes += 1;
          problem(`deleted event for record ${id}, which exists`);
        }
        // The body is the last snapshot: a state the record had (maybe not its very last).
        if (!history.states.includes(state)) {
          figures.inconsistent += 1;
          problem(`deleted event for ${id} carries a state it never had`);
        }
        deletedDelivered.add(id);
        rank = history.states.length;
      } else {
        rank = history.states.indexOf(state);
        if (rank < 0) {
          figures.inconsistent += 1;
          problem(`${body.type} for ${id} carries a state it never had`);
          continue;
        }
        if (event === "paid" && (body.data.object as { status?: string }).status !== "paid") {
          figures.inconsistent += 1;
          problem(`paid event for ${id} in an unpaid state`);
        }
        if (event === "created" && history.baseline) {
          figures.inconsistent += 1;
          problem(`created event for baseline record ${id}`);
        }
        const states = deliveredStates.get(id) ?? new Set<string>();
        states.add(state);
        deliveredStates.set(id, states);
      }
      if (rank < (lastRank.get(id) ?? -1)) {
        figures.orderViolations += 1;
        problem(`record ${id}: ${body.type} (state ${rank}) arrived after state ${lastRank.get(id)}`);
      }
      lastRank.set(id, Math.max(rank, lastRank.get(id) ?? -1));
    }
    figures.distinctEvents = seenIds.size;
    for (const ids of idsByChange.values()) if (ids.size > 1) figures.splitIds += 1;

    tallyFinalStates(this.history, (history) => history.states, { anyEvent, deletedDelivered, delivered: deliveredStates }, figures, problem, (final) => `rev ${(JSON.parse(final) as { rev?: number }).rev ?? "baseline"}`);
    return figures;
  }
}

/**
 * The figures every ledger shares: each record's final state (or its deletion) must have been
 * delivered; a record created and deleted between two passes was never observable.
 */
export function tallyFinalStates<H extends { deleted: boolean; baseline: boolean }, S>(
  history: Map<string, H>,
  statesOf: (history: H) => readonly S[],
  seen: { anyEvent: Set<string>; deletedDelivered: Set<string>; delivered: Map<string, Set<S>> },
  figures: DeliveryFigures,
  problem: (message: string) => void,
  describe: (state: S) => string,
): void {
  for (const [id, record] of history) {
    if (record.deleted) {
      if (!record.baseline && !seen.anyEvent.has(id)) {
        figures.unobservable += 1;
        continue;
      }
      figures.finalStates += 1;
      if (seen.deletedDelivered.has(id)) figures.delivered += 1;
      else {
        figures.lost += 1;
        problem(`record ${id}: deletion not delivered`);
      }
      continue;
    }
    const states = statesOf(record);
    if (record.baseline && states.length === 1) continue;
    figures.finalStates += 1;
    const final = states[states.length - 1]!;
    if (seen.delivered.get(id)?.has(final)) figures.delivered += 1;
    else {
      figures.lost += 1;
      problem(`record ${id}: final state (${describe(final)}) not delivered`);
    }
  }
}
