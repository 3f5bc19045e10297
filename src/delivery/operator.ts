import type { Clock } from "../clock.js";
import type { StateStore } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import type { OutgoingMessage, SendResult } from "../transports/index.js";
import type { OperatorPause, TargetLane } from "./lane.js";

/** What operators do to a target besides replay: pause, resume, send a test message. */

export interface OperatorContext {
  store: StateStore;
  clock: Clock;
  logger: Logger;
}

export async function pauseLane(ctx: OperatorContext, lane: TargetLane, reason: string): Promise<void> {
  const paused: OperatorPause = { at: new Date(ctx.clock.now()).toISOString(), reason };
  await ctx.store.putTargetState(lane.name, { paused });
  lane.paused = paused;
  ctx.logger.warn({ target: lane.name, reason, by: "operator" }, "target paused");
}

/** Lifts an operator pause; a target held by its breaker may probe at once. */
export async function resumeLane(ctx: OperatorContext, lane: TargetLane): Promise<void> {
  await ctx.store.putTargetState(lane.name, {});
  const wasPaused = lane.paused !== undefined || lane.breaker.status === "open";
  lane.paused = undefined;
  if (lane.breaker.status === "open") lane.breaker = { ...lane.breaker, probeAt: ctx.clock.now() };
  if (wasPaused) ctx.logger.info({ target: lane.name, by: "operator" }, "target resumed");
}

export interface TestSend {
  result: SendResult;
  /** The transport's verdict, `success` when delivered. */
  verdict: { outcome: "success" | "retry" | "dead"; reason: string };
}

/** One send of a test message straight through the lane's transport: no outbox, no log, no breaker. */
export async function sendTestMessage(lane: TargetLane, message: OutgoingMessage, signal: AbortSignal): Promise<TestSend> {
  const result = await lane.transport.send(message, signal);
  return { result, verdict: { outcome: result.outcome === "delivered" ? "success" : result.outcome, reason: result.reason } };
}
