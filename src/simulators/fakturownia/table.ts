import type { FakturowniaRecord } from "./records.js";

/** Views kept per table; a write drops them all. */
const MAX_VIEWS = 32;

/**
 * One id sequence and its rows, plus a cache of filtered-and-sorted views keyed by the list
 * query (minus paging). Paging 100,000 rows then costs one sort per query shape per write,
 * not one per page. Ids only grow, as in the real database.
 */
export class FakeTable {
  readonly rows = new Map<number, FakturowniaRecord>();
  private nextId = 1;
  private views = new Map<string, FakturowniaRecord[]>();

  allocateId(requested?: unknown): number {
    const wanted = typeof requested === "number" && Number.isInteger(requested) && requested > 0 && !this.rows.has(requested) ? requested : this.nextId;
    this.nextId = Math.max(this.nextId, wanted + 1);
    return wanted;
  }

  put(record: FakturowniaRecord): void {
    this.rows.set(record.id as number, record);
    this.views.clear();
  }

  delete(id: number): boolean {
    const existed = this.rows.delete(id);
    if (existed) this.views.clear();
    return existed;
  }

  /** Marks an in-place change of a stored record. */
  touched(): void {
    this.views.clear();
  }

  view(key: string, build: () => FakturowniaRecord[]): FakturowniaRecord[] {
    const cached = this.views.get(key);
    if (cached) return cached;
    const rows = build();
    if (this.views.size >= MAX_VIEWS) this.views.clear();
    this.views.set(key, rows);
    return rows;
  }
}
