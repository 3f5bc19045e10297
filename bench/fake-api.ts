import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { invoice } from "./invoice.js";
import { serveRpc } from "./rpc.js";

/**
 * The benchmark's vendor API, in its own process: named datasets of invoices served from
 * pages serialised ahead of time (id order, the dataset's page size), so a request costs a map
 * lookup and a socket write. Other listings (a `modified_since` / `id_gt` filter, the
 * `sort=modified_desc` order, other page sizes) are serialised on first request and cached
 * until the dataset changes; a change re-serialises the pages it touched at once.
 *
 *   GET /d/<dataset>/invoices?page=&per_page= | offset=&limit=
 *       [&modified_since=<ISO>] [&id_gt=<n>] [&sort=modified_desc]
 *   GET /d/<dataset>/invoices/<id>
 */

interface Dataset {
  pageSize: number;
  /** Per id - 1. */
  rev: number[];
  created: number[];
  updated: number[];
  /** Id-ordered pages of `pageSize`, serialised. */
  pages: Buffer[];
  cache: Map<string, Buffer>;
  asc?: Int32Array;
  /** Ids by `updated_at` descending (then id descending); rebuilt after a change. */
  desc?: Int32Array;
  listRequests: number;
  singleRequests: number;
}

const datasets = new Map<string, Dataset>();
const EMPTY = Buffer.from("[]");

function serialise(set: Dataset, ids: ArrayLike<number>, from: number, to: number): Buffer {
  const records = [];
  for (let i = from; i < Math.min(to, ids.length); i += 1) {
    const id = ids[i]!;
    records.push(invoice(id, set.rev[id - 1]!, set.created[id - 1]!, set.updated[id - 1]!));
  }
  return Buffer.from(JSON.stringify(records));
}

/** Ids 1..n in order. */
function ascending(set: Dataset): Int32Array {
  if (!set.asc || set.asc.length !== set.rev.length) set.asc = Int32Array.from({ length: set.rev.length }, (_, i) => i + 1);
  return set.asc;
}

function servePage(set: Dataset, index: number): Buffer {
  const count = set.rev.length;
  if (index * set.pageSize >= count) return EMPTY;
  let page = set.pages[index];
  if (!page) {
    page = serialise(set, ascending(set), index * set.pageSize, (index + 1) * set.pageSize);
    set.pages[index] = page;
  }
  return page;
}

function touchPages(set: Dataset, ids: number[]): void {
  set.cache.clear();
  set.desc = undefined;
  const touched = new Set(ids.map((id) => Math.floor((id - 1) / set.pageSize)));
  for (const index of touched) {
    set.pages[index] = undefined as unknown as Buffer;
    servePage(set, index);
  }
}

function descending(set: Dataset): Int32Array {
  if (!set.desc) {
    const ids = Int32Array.from({ length: set.rev.length }, (_, i) => i + 1);
    ids.sort((a, b) => set.updated[b - 1]! - set.updated[a - 1]! || b - a);
    set.desc = ids;
  }
  return set.desc;
}

function list(set: Dataset, query: URLSearchParams, search: string): Buffer {
  const page = query.get("page");
  const perPage = Number(query.get("per_page") ?? set.pageSize);
  const offset = query.get("offset");
  const limit = Number(query.get("limit") ?? set.pageSize);
  const start = page !== null ? (Number(page) - 1) * perPage : Number(offset ?? 0);
  const size = page !== null ? perPage : limit;
  const plain = !query.has("modified_since") && !query.has("id_gt") && !query.has("sort");
  if (plain && size === set.pageSize && start % size === 0) return servePage(set, start / size);
  const cached = set.cache.get(search);
  if (cached) return cached;
  let ids: ArrayLike<number> = query.get("sort") === "modified_desc" ? descending(set) : ascending(set);
  const since = query.get("modified_since");
  const idGt = query.get("id_gt");
  if (since !== null || idGt !== null) {
    const sinceMs = since !== null ? Date.parse(since) : Number.NEGATIVE_INFINITY;
    const above = idGt !== null ? Number(idGt) : 0;
    const kept: number[] = [];
    for (let i = 0; i < ids.length; i += 1) {
      const id = ids[i]!;
      if (id > above && set.updated[id - 1]! >= sinceMs) kept.push(id);
    }
    ids = kept;
  }
  const body = serialise(set, ids, start, start + size);
  set.cache.set(search, body);
  return body;
}

function send(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

const server = createServer((req, res) => {
  // Bodies of GETs are empty; drain anything else.
  req.resume();
  const url = new URL(req.url ?? "/", "http://fake.invalid");
  const match = /^\/d\/([^/]+)\/invoices(?:\/(\d+))?$/.exec(url.pathname);
  const set = match ? datasets.get(match[1]!) : undefined;
  if (!match || !set) return send(res, 404, Buffer.from('{"error":"no such dataset"}'));
  if (match[2]) {
    set.singleRequests += 1;
    const id = Number(match[2]);
    if (id < 1 || id > set.rev.length) return send(res, 404, Buffer.from('{"error":"not found"}'));
    return send(res, 200, Buffer.from(JSON.stringify(invoice(id, set.rev[id - 1]!, set.created[id - 1]!, set.updated[id - 1]!))));
  }
  set.listRequests += 1;
  send(res, 200, list(set, url.searchParams, url.search));
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

function dataset(name: string): Dataset {
  const set = datasets.get(name);
  if (!set) throw new Error(`no dataset ${name}`);
  return set;
}

serveRpc({
  listen: async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  },
  /** Records 1..count, updated `spacingMs` apart, the newest at `newestAt`; every page serialised now. */
  create: (args: { name: string; count: number; pageSize: number; newestAt: number; spacingMs: number }) => {
    const set: Dataset = { pageSize: args.pageSize, rev: [], created: [], updated: [], pages: [], cache: new Map(), listRequests: 0, singleRequests: 0 };
    for (let id = 1; id <= args.count; id += 1) {
      const at = args.newestAt - (args.count - id) * args.spacingMs;
      set.rev.push(1);
      set.created.push(at);
      set.updated.push(at);
    }
    datasets.set(args.name, set);
    const started = performance.now();
    for (let index = 0; index * set.pageSize < args.count; index += 1) servePage(set, index);
    return { serialiseMs: Math.round(performance.now() - started), bytes: set.pages.reduce((n, p) => n + p.length, 0) };
  },
  /** A new revision of each record, stamped now. */
  update: (args: { name: string; ids: number[] }) => {
    const set = dataset(args.name);
    const changes = args.ids.map((id) => {
      if (id < 1 || id > set.rev.length) throw new Error(`no record ${id} in ${args.name}`);
      const at = Date.now();
      set.rev[id - 1]! += 1;
      set.updated[id - 1] = at;
      return { id, rev: set.rev[id - 1]!, at };
    });
    touchPages(set, args.ids);
    return changes;
  },
  /** New records with the next serial ids, stamped now. */
  append: (args: { name: string; count: number }) => {
    const set = dataset(args.name);
    const ids: number[] = [];
    for (let i = 0; i < args.count; i += 1) {
      const at = Date.now();
      set.rev.push(1);
      set.created.push(at);
      set.updated.push(at);
      ids.push(set.rev.length);
    }
    touchPages(set, ids);
    return ids;
  },
  stats: (args: { name: string }) => {
    const set = dataset(args.name);
    return { listRequests: set.listRequests, singleRequests: set.singleRequests, records: set.rev.length };
  },
  resetStats: (args: { name: string }) => {
    const set = dataset(args.name);
    set.listRequests = 0;
    set.singleRequests = 0;
    return null;
  },
  drop: (args: { name: string }) => {
    datasets.delete(args.name);
    return null;
  },
});
