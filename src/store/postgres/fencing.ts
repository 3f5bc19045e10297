import { FencedError, type Fence } from "../fence.js";
import type { Db, Query } from "./db.js";

/**
 * First statement of every write transaction made under a fence (docs/decisions/0013): holds
 * the lease row FOR KEY SHARE until commit — a grant (which takes the row FOR UPDATE) cannot
 * happen meanwhile, so it is always stamped after this write committed, while the owner's own
 * renewal (an update of the expiry only) does not wait for its writes — and stamps
 * `fenced_writes(source, token)`. No row: the token is not current (or the lease expired), and
 * the transaction is refused.
 */
const CHECK = `WITH held AS (
    SELECT source FROM @.leases WHERE source = $1 AND owner = $2 AND token = $3 AND expires_at > clock_timestamp() FOR KEY SHARE
  )
  INSERT INTO @.fenced_writes (source, token, writes, first_at, last_at)
  SELECT source, $3, 1, clock_timestamp(), clock_timestamp() FROM held
  ON CONFLICT (source, token) DO UPDATE SET writes = @.fenced_writes.writes + 1, last_at = excluded.last_at
  RETURNING 1`;

export async function checkFence(q: Query, fence: Fence): Promise<void> {
  const rows = await q(CHECK, [fence.source, fence.owner, fence.token]);
  if (rows.length === 0) throw new FencedError(fence);
}

/** After the refused transaction rolled back: a row in `fence_rejections` (best effort). */
export function recordRejection(db: Db, fence: Fence): void {
  fence.rejected?.();
  db.query("INSERT INTO @.fence_rejections (source, token, owner) VALUES ($1, $2, $3)", [fence.source, fence.token, fence.owner]).catch(() => undefined);
}
