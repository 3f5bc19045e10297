import type { Clock } from "../clock.js";
import type { SourceConfig } from "../config/types.js";
import { decidePass, periodOf, type PassDecision } from "../core/budget-plan.js";
import { SourceError } from "../sources/errors.js";
import type { BudgetState, StateStore } from "../store/store.js";

/**
 * A source's request budget: counts every request (persisted, so use survives restarts) and
 * decides whether a pass may run now. Sources without `budget` are never limited.
 */
export class BudgetGate {
  private state?: BudgetState & { incrementalCost?: number; reconcileCost?: number; lastPassAt?: number; reconcileUsed?: number };
  private passRequests = 0;

  constructor(
    private readonly config: SourceConfig,
    private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  /** Reads the budget from state again at its next use (another replica spent from it meanwhile). */
  forget(): void {
    this.state = undefined;
  }

  get limited(): boolean {
    return this.config.budget !== undefined;
  }

  private async current(): Promise<NonNullable<BudgetGate["state"]>> {
    const budget = this.config.budget!;
    const period = periodOf(this.clock.now(), budget.per, this.config.timezone);
    this.state ??= ((await this.store.getBudget(this.config.name)) as BudgetGate["state"]) ?? { period: period.key, used: 0 };
    if (this.state.period !== period.key) this.state = { ...this.state, period: period.key, used: 0, reconcileUsed: 0 };
    return this.state;
  }

  /** Before every request: refuses it when the period's budget is spent, else counts it. */
  async spend(): Promise<void> {
    this.passRequests += 1;
    if (!this.config.budget) return;
    const state = await this.current();
    if (state.used >= this.config.budget.requests) {
      const period = periodOf(this.clock.now(), this.config.budget.per, this.config.timezone);
      throw new SourceError(`request budget of ${this.config.budget.requests} per ${this.config.budget.per} spent; next period starts ${new Date(period.end).toISOString()}`, "budget");
    }
    state.used += 1;
    await this.store.putBudget(this.config.name, state);
  }

  /** Whether a scheduled pass may run now (`paced`: apply the even spread; `once` does not). */
  async allowPass(mode: "incremental" | "reconcile", paced: boolean): Promise<PassDecision> {
    if (!this.config.budget) return { run: true };
    const state = await this.current();
    const resources = this.config.resources.length;
    const decision = decidePass({
      now: this.clock.now(),
      period: periodOf(this.clock.now(), this.config.budget.per, this.config.timezone),
      requests: this.config.budget.requests,
      used: state.used,
      reconcileUsed: state.reconcileUsed ?? 0,
      mode,
      incrementalCost: state.incrementalCost ?? resources,
      reconcileCost: state.reconcileCost ?? resources * 2,
      lastPassAt: paced ? state.lastPassAt : undefined,
    });
    if (!paced && !decision.run && !/spent/.test(decision.reason)) return { run: true };
    return decision;
  }

  startPass(): void {
    this.passRequests = 0;
  }

  /** After a pass: remembers what it cost (moving average) and when it ran. */
  async finishPass(mode: "incremental" | "reconcile", startedAt: number): Promise<void> {
    if (!this.config.budget) return;
    const state = await this.current();
    const key = mode === "reconcile" ? "reconcileCost" : "incrementalCost";
    const previous = state[key];
    state[key] = previous === undefined ? Math.max(1, this.passRequests) : Math.max(1, Math.round((previous * 3 + this.passRequests) / 4));
    if (mode === "incremental") state.lastPassAt = startedAt;
    else state.reconcileUsed = (state.reconcileUsed ?? 0) + this.passRequests;
    await this.store.putBudget(this.config.name, state);
  }

  async used(): Promise<{ used: number; left: number; period: string } | undefined> {
    if (!this.config.budget) return undefined;
    const state = await this.current();
    return { used: state.used, left: Math.max(0, this.config.budget.requests - state.used), period: state.period };
  }
}
