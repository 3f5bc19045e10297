import type { ClusterStore, DeliveryLog, Outbox, PageCommit, PassJournal, SmallState, SnapshotStore, StateRetention, StateStore } from "./store.js";

/**
 * What a backend builds its StateStore from: one part per interface the store joins (store.ts),
 * each made over the backend's context (src/store/<backend>/context.ts). A new part of the store
 * is one line here and one in each backend's open.ts; the compiler asks for both.
 */
export interface StoreParts<Ctx, Flushed extends void | Promise<void>> {
  smallState(ctx: Ctx): SmallState;
  snapshots(ctx: Ctx): SnapshotStore;
  pageCommit(ctx: Ctx): PageCommit;
  /** `flush` stores the acks the outbox still batches; only the store's `close` calls it. */
  outbox(ctx: Ctx): Outbox & { flush(): Flushed };
  deliveryLog(ctx: Ctx): DeliveryLog;
  passJournal(ctx: Ctx): PassJournal;
  retention(ctx: Ctx): StateRetention;
}

/** What the backend adds around the parts: the store's identity and how it closes. */
export interface StoreShell<Flushed extends void | Promise<void>> {
  epoch: string;
  readOnly: boolean;
  /** Replicas (PostgreSQL only). */
  cluster?: ClusterStore;
  /** Releases the backend's connections and locks; calls `flushOutbox` while the state can still be written. */
  close(flushOutbox: () => Flushed): Promise<void>;
}

/** One StateStore from a backend's parts, the same way for every backend. */
export function assembleStore<Ctx, Flushed extends void | Promise<void>>(ctx: Ctx, parts: StoreParts<Ctx, Flushed>, shell: StoreShell<Flushed>): StateStore {
  const { flush, ...outbox } = parts.outbox(ctx);
  return {
    epoch: shell.epoch,
    readOnly: shell.readOnly,
    ...(shell.cluster ? { cluster: shell.cluster } : {}),
    ...parts.smallState(ctx),
    ...parts.snapshots(ctx),
    ...parts.pageCommit(ctx),
    ...outbox,
    ...parts.deliveryLog(ctx),
    ...parts.passJournal(ctx),
    ...parts.retention(ctx),
    close: () => shell.close(flush),
  };
}
