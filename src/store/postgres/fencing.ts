import { FencedError, type Fence } from "../fence.js";
import type { Db, Query } from "./db.js";

const held = (source: string, owner: string, token: string): string =>
  `held AS (SELECT source FROM @.leases WHERE source = ${source} AND owner = ${owner} AND token = ${token} AND expires_at > clock_timestamp() FOR KEY SHARE)`;
const stamp = (token: string): string =>
  `INSERT INTO @.fenced_writes (source, token, writes, first_at, last_at) SELECT source, ${token}, 1, clock_timestamp(), clock_timestamp() FROM held
  ON CONFLICT (source, token) DO UPDATE SET writes = @.fenced_writes.writes + 1, last_at = excluded.last_at RETURNING 1`;

/**
 * First statement of every write transaction made under a fence (docs/decisions/0013): holds
 * the lease row FOR KEY SHARE until commit — a grant (which takes the row FOR UPDATE) cannot
 * happen meanwhile, so it is always stamped after this write committed, while the owner's own
 * renewal (an update of the expiry only) does not wait for its writes — and stamps
 * `fenced_writes(source, token)`. No row: the token is not current (or the lease expired), and
 * the transaction is refused.
 */
const CHECK = `WITH ${held("$1", "$2", "$3")} ${stamp("$3")}`;

/** Where a statement given to `fencedWrite` writes only under a current fence (`true` without one). */
export const FENCED = "@fenced";

/**
 * The statements of one write (each may read `@fenced`) as ONE statement, its own transaction,
 * with the fence check of `CHECK` in front: the lease row is held FOR KEY SHARE from before
 * the first row is written until the statement commits, exactly as in a transaction that runs
 * `CHECK` first — in one round trip instead of four (BEGIN, CHECK, the write, COMMIT). The
 * fence's source, owner and token are parameters `params + 1` to `params + 3`. The statement
 * returns one row, `fenced`: false when the token is not current (nothing was written).
 */
export function fencedWrite(statements: readonly string[], params: number): string {
  const [source, owner, token] = [1, 2, 3].map((i) => `$${params + i}`) as [string, string, string];
  const writes = statements.map((statement, i) => `w${i} AS (${statement.replaceAll(FENCED, "EXISTS (SELECT 1 FROM fence)")})`);
  return `WITH ${held(source, owner, token)}, fence AS (${stamp(token)}), ${writes.join(", ")} SELECT EXISTS (SELECT 1 FROM fence) AS fenced`;
}

/** The same statements with no fence: one statement too. */
export function unfencedWrite(statements: readonly string[]): string {
  const plain = statements.map((statement) => statement.replaceAll(FENCED, "true"));
  return plain.length === 1 ? plain[0]! : `WITH ${plain.map((statement, i) => `w${i} AS (${statement})`).join(", ")} SELECT true AS done`;
}

export async function checkFence(q: Query, fence: Fence): Promise<void> {
  const rows = await q(CHECK, [fence.source, fence.owner, fence.token]);
  if (rows.length === 0) throw new FencedError(fence);
}

/** After the refused transaction rolled back: a row in `fence_rejections` (best effort). */
export function recordRejection(db: Db, fence: Fence): void {
  fence.rejected?.();
  db.query("INSERT INTO @.fence_rejections (source, token, owner) VALUES ($1, $2, $3)", [fence.source, fence.token, fence.owner]).catch(() => undefined);
}
