import { AsyncLocalStorage } from "node:async_hooks";
import { StateError } from "../errors.js";

/**
 * The lease a pass runs under (docs/decisions/0013): every state write the pass makes is
 * accepted only while `token` is still the current token of `source`'s lease held by `owner`,
 * checked inside the write's own transaction. Carried by async context, so the pipeline and
 * the store methods need no extra parameter.
 */
export interface Fence {
  source: string;
  token: number;
  owner: string;
  /** Told when the database refused a write under this fence (metrics). */
  rejected?: () => void;
}

const fences = new AsyncLocalStorage<Fence>();

/** Runs `fn` with `fence` as the fence of every state write it makes. */
export function withFence<T>(fence: Fence, fn: () => Promise<T>): Promise<T> {
  return fences.run(fence, fn);
}

/** Runs `fn` outside any fence (work a pass starts that is not the pass's own: deliveries). */
export function withoutFence<T>(fn: () => T): T {
  return fences.exit(fn);
}

export function currentFence(): Fence | undefined {
  return fences.getStore();
}

/** A write refused because its lease token is no longer current: nothing of it was kept. */
export class FencedError extends StateError {
  override name = "FencedError";
  constructor(readonly fence: Fence) {
    super(`state write refused: the lease on source ${fence.source} (token ${fence.token}) held by replica ${fence.owner} is no longer current — another replica owns it now or it expired; nothing of this write was kept`);
  }
}
