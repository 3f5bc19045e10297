import Keyv from "keyv";
import type { Clock } from "../../clock.js";
import type { ResourceId } from "../store.js";
import type { BaselineWriter } from "./baseline-writer.js";
import type { SqliteKv } from "./kv.js";

/**
 * What the SQLite concern files share. Key layout of the `kv` table:
 *   k:rs/<source>/<resource>   resource state        k:ss/<source>   source state
 *   k:b/<source>               budget                k:ts/<target>   target state
 *   m/epoch, m/seq             metadata
 *   s/<source>/<resource>/<kind>␟<id>   snapshot "<version>\t<fingerprint>\t<json>"
 *   t/<source>/<resource>/<kind>␟<id>   tombstone "<version>"
 *   w/<source>/<resource>/<kind>␟<id>   write sequence of the record's last snapshot change (m/wseq)
 *   p/<source>/<resource>/<page digest> write sequence before the page was last compared
 *   e/<event id>               the event body        q/<target>/<seq>  pending delivery
 *   d/<target>/<seq>           dead letter           l/<target>/<seq>  delivery log
 *   r/<record key>/<seq>       event ids of a record (m/eseq numbers events)
 *   h/<source>/<resource>/<seq> the pass journal (pass-journal.ts; counter m/h/<source>/<resource>)
 *   n/<event seq>              [event id, record key, detected_at]: events oldest first (retention.ts)
 *   m/pruned/<kind>            the cutoff of the last finished retention sweep of a kind
 *   g/<source>/<resource>/<n>  an event a pass staged (page-commit.ts)
 *   u/<source>/<resource>/<kind>␟<id>   a record's snapshot before the staging pass changed it
 */
export interface SqliteContext {
  kv: SqliteKv;
  /** Small JSON records through keyv (`throwOnErrors`). */
  keyv: Keyv;
  clock: Clock;
  /** Delivery log entries kept per target. */
  logLimit: number;
  /** The snapshot write sequence (`m/wseq`); one process owns the file, so it is kept here too. */
  writeSeq: number;
  /** Whether `kv_counts` keeps the queue's counts (outbox.ts `installQueueCounts`). */
  queueCounts: boolean;
  /** Writes large silent baselines on a thread of its own (not for in-memory files). */
  baselines: BaselineWriter | undefined;
  /** While a retention sweep collects them: ids of events that deliveries or dead letters refer to (retention.ts). */
  pinned?: Set<string>;
}

/** Waits for baseline writes in flight (see BaselineWriter); throws the failure of one of `id`'s. */
export async function settled(ctx: SqliteContext, id?: ResourceId): Promise<void> {
  await ctx.baselines?.settled(id ? prefixOf(id) : undefined);
}

export const prefixOf = (id: ResourceId): string => `${id.source}/${id.resource}/`;

export const SEQ_WIDTH = 12;
export const pad = (n: number): string => String(n).padStart(SEQ_WIDTH, "0");

export function newKeyv(kv: SqliteKv): Keyv {
  return new Keyv({ store: kv, namespace: "k", throwOnErrors: true });
}
