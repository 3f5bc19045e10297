import type { TableSchema } from "./schema.js";
import type { Row, Value } from "./values.js";
import { seededRandom } from "../../helpers/random.js";

export type Key = string | number;

/** Views kept per table; a write drops them all. */
const MAX_VIEWS = 32;

/**
 * Rows of one table keyed by primary key, its serial sequence (ids only grow, even after a
 * delete), an optional index by parent id (receipts by invoice, payments by receipt), and a
 * cache of filtered-and-sorted views keyed by the list query.
 */
export class TableData {
  readonly rows = new Map<Key, Row>();
  private nextId = 1;
  private writes = 0;
  private views = new Map<string, Row[]>();
  private readonly children = new Map<Value, Set<Key>>();

  constructor(
    readonly schema: TableSchema,
    private readonly parentField?: string,
  ) {}

  get serial(): boolean {
    return this.schema.columns[this.schema.primaryKey] === "serial";
  }

  /** A stored key from a URL segment or a JS value (numeric tables take numbers). */
  key(id: unknown): Key | undefined {
    if (!this.serial) return id === null || id === undefined ? undefined : String(id);
    const n = typeof id === "number" ? id : Number(String(id).trim());
    return Number.isInteger(n) ? n : undefined;
  }

  allocate(requested: Value): number {
    const id = typeof requested === "number" && requested > 0 ? requested : this.nextId;
    this.nextId = Math.max(this.nextId, id + 1);
    return id;
  }

  put(row: Row, bulk = false): void {
    const key = row[this.schema.primaryKey] as Key;
    const previous = this.rows.get(key);
    if (this.parentField && previous) this.children.get(previous[this.parentField] ?? null)?.delete(key);
    this.rows.set(key, row);
    if (this.parentField) {
      const parent = row[this.parentField] ?? null;
      let set = this.children.get(parent);
      if (!set) this.children.set(parent, (set = new Set()));
      set.add(key);
    }
    if (!bulk) this.changed();
  }

  delete(key: Key): Row | undefined {
    const row = this.rows.get(key);
    if (!row) return undefined;
    this.rows.delete(key);
    if (this.parentField) this.children.get(row[this.parentField] ?? null)?.delete(key);
    this.changed();
    return row;
  }

  /** Rows whose parent column equals `parent`, in key order. */
  childrenOf(parent: Value): Row[] {
    const keys = [...(this.children.get(parent) ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return keys.map((key) => this.rows.get(key)).filter((row): row is Row => row !== undefined);
  }

  changed(): void {
    this.writes += 1;
    this.views.clear();
  }

  view(key: string, build: () => Row[]): Row[] {
    const cached = this.views.get(key);
    if (cached) return cached;
    const rows = build();
    if (this.views.size >= MAX_VIEWS) this.views.clear();
    this.views.set(key, rows);
    return rows;
  }

  /**
   * Rows in the order a query without `sort` sees them: by primary key when `stable`, else a
   * shuffle that changes with every write (releases before master 2026-08 send no ORDER BY).
   */
  baseOrder(stable: boolean): Row[] {
    return this.view(`base:${String(stable)}`, () => {
      const rows = [...this.rows.values()];
      const pk = this.schema.primaryKey;
      if (stable) return rows.sort((a, b) => ((a[pk] as Key) < (b[pk] as Key) ? -1 : (a[pk] as Key) > (b[pk] as Key) ? 1 : 0));
      const random = seededRandom(this.writes * 2_654_435_761 + rows.length);
      for (let i = rows.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [rows[i], rows[j]] = [rows[j] as Row, rows[i] as Row];
      }
      return rows;
    });
  }
}
