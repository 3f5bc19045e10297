import { startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from "../../src/simulators/kit.js";

/**
 * A generic JSON API for tests of the `rest` source: `/items` (or `path`) with `page`/`per_page`,
 * `offset`/`limit` or a `next` link; `modified_since` (ISO), `id_gt`, `sort=modified_desc` or
 * `sort=id_asc`; `/items/{id}` single GET; records `{id, name, status, amount, modified_at,
 * created_at}`. The token must come as `Authorization: Bearer <token>`.
 */
export interface Item {
  id: number;
  name: string;
  status: string;
  amount: string;
  modified_at: string;
  created_at: string;
  [key: string]: unknown;
}

export interface FakeRest extends FakeServer {
  items: Map<number, Item>;
  token: string;
  /** Shifts the clock used for timestamps (ms). */
  tick(ms?: number): void;
  create(fields?: Partial<Item>): Item;
  update(id: number, patch: Partial<Item>): Item;
  remove(id: number): void;
  /** Records modified `spacingMs` apart (default a minute), the newest just before now. */
  seed(count: number, spacingMs?: number): void;
  /** When true, `sort=modified_desc` is ignored (an API that does not sort as declared). */
  unsorted: boolean;
  /** Wrap lists as `{data: [...], links: {next}}` (for the `next` style and records paths). */
  listRequests(): number;
  /** Called before a list page is served (with its `page` number): changes made here show in it. */
  onList?: (page: number) => void;
  /** A vendor that silently serves at most this many records per page (`per_page` / `limit` clamped). */
  maxPerPage?: number;
  /** Send `X-Total-Count` on numbered pages (default true). */
  totalHeader: boolean;
  /** Added to the `X-Total-Count` it sends (a count that disagrees with the list). */
  totalSkew: number;
  /** Ids left out of every list but still served by the single GET. */
  hidden: Set<number>;
}

export async function startFakeRest(options: { token?: string; now?: number; path?: string } = {}): Promise<FakeRest> {
  /** The list's path (default `/items`); records at `<path>/{id}`. */
  const listPath = options.path ?? "/items";
  const items = new Map<number, Item>();
  let now = options.now ?? Date.parse("2026-11-23T10:00:00Z");
  let nextId = 1;
  const token = options.token ?? "rest-token-123";
  const stamp = (): string => {
    now += 1000;
    return new Date(now).toISOString();
  };

  // eslint-disable-next-line prefer-const
  let fake: FakeRest;

  function handler(request: FakeRequest): FakeResponse {
    if (request.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { error: "unauthorized" } };
    const single = request.path.startsWith(`${listPath}/`) ? /^(\d+)$/.exec(request.path.slice(listPath.length + 1)) : null;
    if (single) {
      const item = items.get(Number(single[1]));
      return item ? { status: 200, body: item } : { status: 404, body: { error: "not found" } };
    }
    if (request.path !== listPath && request.path !== "/wrapped") return { status: 404, body: { error: "no route" } };
    fake.onList?.(Number(request.query.get("page") ?? 1));
    let list = [...items.values()].filter((item) => !fake.hidden.has(item.id));
    const since = request.query.get("modified_since");
    if (since) list = list.filter((item) => Date.parse(item.modified_at) >= Date.parse(since));
    const idGt = request.query.get("id_gt");
    if (idGt) list = list.filter((item) => item.id > Number(idGt));
    const sort = request.query.get("sort");
    if (sort === "modified_desc" && !fake.unsorted) list.sort((a, b) => Date.parse(b.modified_at) - Date.parse(a.modified_at) || b.id - a.id);
    else list.sort((a, b) => a.id - b.id);
    if (request.path === "/wrapped") {
      const cursor = Number(request.query.get("cursor") ?? 0);
      const pageItems = list.slice(cursor, cursor + 50);
      const next = cursor + 50 < list.length ? `/wrapped?cursor=${cursor + 50}` : null;
      return { status: 200, body: { data: pageItems, links: { next } } };
    }
    const cap = (size: number): number => Math.min(size, fake.maxPerPage ?? size);
    if (request.query.has("offset")) {
      const offset = Number(request.query.get("offset"));
      const limit = cap(Number(request.query.get("limit") ?? 100));
      return { status: 200, body: list.slice(offset, offset + limit) };
    }
    const page = Number(request.query.get("page") ?? 1);
    const perPage = cap(Number(request.query.get("per_page") ?? 100));
    return { status: 200, body: list.slice((page - 1) * perPage, page * perPage), headers: fake.totalHeader ? { "x-total-count": String(list.length + fake.totalSkew) } : {} };
  }

  const server = await startFakeServer(handler);
  fake = Object.assign(server, {
    items,
    token,
    unsorted: false,
    totalHeader: true,
    totalSkew: 0,
    hidden: new Set<number>(),
    tick(ms = 1000) {
      now += ms;
    },
    create(fields: Partial<Item> = {}) {
      const id = nextId++;
      const at = stamp();
      const item: Item = { id, name: `Item ${id}`, status: "issued", amount: "100.00", modified_at: at, created_at: at, ...fields };
      items.set(id, item);
      return item;
    },
    update(id: number, patch: Partial<Item>) {
      const item = items.get(id);
      if (!item) throw new Error(`no item ${id}`);
      const updated = { ...item, ...patch, modified_at: stamp() };
      items.set(id, updated);
      return updated;
    },
    remove(id: number) {
      items.delete(id);
    },
    seed(count: number, spacingMs = 60_000) {
      for (let i = 0; i < count; i += 1) {
        const id = nextId++;
        const at = new Date(now - (count - i) * spacingMs).toISOString();
        items.set(id, { id, name: `Item ${id}`, status: "issued", amount: "100.00", modified_at: at, created_at: at });
      }
    },
    listRequests() {
      return server.requests.filter((r) => r.path === listPath || r.path === "/wrapped").length;
    },
  });
  return fake;
}
