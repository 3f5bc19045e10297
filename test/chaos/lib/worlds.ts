import { startFacturaScriptsFake } from "../../fakes/facturascripts/fake.js";
import { startFakturoidFake } from "../../fakes/fakturoid/fake.js";
import { startFakturowniaFake } from "../../../src/simulators/fakturownia/fake.js";
import { startWfirmaFake } from "../../fakes/wfirma/fake.js";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { verifySignature, type ReceivedRequest } from "../../helpers/receiver.js";
import { canonical, emptyFigures, Ledger, tallyFinalStates, type ChangeKind, type DeliveryFigures } from "./ledger.js";
import { SECRETS } from "./secrets.js";

/**
 * A source under a stream of changes, with the record of every state, for the crash loop and
 * the soak: the generic REST fake (whole-state comparison, lib/ledger.ts) or a vendor fake. For
 * vendor fakes each change writes a marker ("chaos rev N") into a text field, so an event's
 * object names the state it carries whatever the vendor adds around it.
 */
export interface World {
  readonly name: string;
  readonly typePrefix: string;
  readonly upstream: string;
  sourceConfig(baseUrl: string, extra: Record<string, unknown>): Record<string, unknown>;
  /** Records the current records as the baseline (before the first pass). */
  baseline(): void;
  randomChange(random: () => number): ChangeKind | undefined;
  readonly changes: number;
  readonly made: Record<ChangeKind, number>;
  verify(requests: readonly ReceivedRequest[], secret: string): DeliveryFigures;
  close(): Promise<void>;
}

const SCHEDULE = { schedule: "*/1 * * * * *", reconcile: "*/2 * * * * *" };

export async function restWorld(seed = 150): Promise<World> {
  const api = await startFakeRest({ token: SECRETS.restToken });
  api.seed(seed, 1000);
  const ledger = new Ledger(api);
  return {
    name: "rest",
    typePrefix: "item",
    upstream: api.url,
    sourceConfig: (baseUrl, extra) => ({
      name: "legacy",
      type: "rest",
      base_url: baseUrl,
      headers: { Authorization: `Bearer ${SECRETS.restToken}` },
      ...SCHEDULE,
      resources: [{ name: "items", type_prefix: "item", path: "/items", cursor: { field: "modified_at", param: "modified_since" }, pagination: { style: "page", page_param: "page", size_param: "per_page", size: 50 }, get: "/items/{id}", paid: { field: "status", to: "paid" } }],
      ...extra,
    }),
    baseline: () => ledger.baseline(),
    randomChange: (random) => ledger.randomChange(random),
    get changes() {
      return ledger.changes;
    },
    made: ledger.made,
    verify: (requests, secret) => ledger.verify(requests, secret),
    close: () => api.close(),
  };
}

interface PresetOps {
  ids(): string[];
  create(marker: string): string;
  update(id: string, marker: string): void;
  /** A payment that pays the record in full, and the marker; false when it cannot be paid. */
  pay(id: string, marker: string): boolean;
  remove(id: string): boolean;
}

interface MarkerHistory {
  revs: number[];
  deleted: boolean;
  baseline: boolean;
}

/** The marker ledger over a vendor fake. */
class MarkerLedger {
  readonly history = new Map<string, MarkerHistory>();
  readonly made: Record<ChangeKind, number> = { create: 0, update: 0, pay: 0, delete: 0 };
  private rev = 0;

  constructor(
    private readonly ops: PresetOps,
    private readonly field: string,
  ) {}

  baseline(): void {
    for (const id of this.ops.ids()) this.history.set(id, { revs: [-1], deleted: false, baseline: true });
  }

  get changes(): number {
    return this.made.create + this.made.update + this.made.pay + this.made.delete;
  }

  randomChange(random: () => number, target = 200): ChangeKind | undefined {
    const live = this.ops.ids().filter((id) => this.history.has(id) && !this.history.get(id)!.deleted);
    const roll = random();
    const marker = (): string => `chaos rev ${++this.rev}`;
    if (live.length === 0 || roll < (live.length < target ? 0.35 : 0.2)) {
      const text = marker();
      const id = this.ops.create(text);
      this.history.set(id, { revs: [this.rev], deleted: false, baseline: false });
      this.made.create += 1;
      return "create";
    }
    const id = live[Math.floor(random() * live.length)]!;
    const history = this.history.get(id)!;
    if (roll < 0.38) {
      if (!this.ops.remove(id)) return undefined;
      history.deleted = true;
      this.made.delete += 1;
      return "delete";
    }
    if (roll < 0.55) {
      const text = marker();
      if (this.ops.pay(id, text)) {
        history.revs.push(this.rev);
        this.made.pay += 1;
        return "pay";
      }
      this.rev -= 1;
    }
    const text = marker();
    this.ops.update(id, text);
    history.revs.push(this.rev);
    this.made.update += 1;
    return "update";
  }

  verify(requests: readonly ReceivedRequest[], secret: string): DeliveryFigures {
    const figures = emptyFigures(requests.length);
    const problem = (text: string): void => void (figures.problems.length < 20 && figures.problems.push(text));
    const seenIds = new Set<string>();
    const idsByChange = new Map<string, Set<string>>();
    const lastRank = new Map<string, number>();
    const deliveredRevs = new Map<string, Set<number>>();
    const deletedDelivered = new Set<string>();
    const anyEvent = new Set<string>();
    for (const request of requests) {
      const body = JSON.parse(request.body) as { id: string; type: string; record_id: string; data: { object: Record<string, unknown> } };
      try {
        verifySignature(request, secret);
      } catch (error) {
        figures.badSignatures += 1;
        problem(`bad signature on ${body.id}: ${(error as Error).message}`);
      }
      if (request.headers["webhook-id"] !== body.id) figures.idMismatches += 1;
      if (seenIds.has(body.id)) figures.duplicates += 1;
      seenIds.add(body.id);
      const id = body.record_id;
      anyEvent.add(id);
      const event = body.type.slice(body.type.indexOf(".") + 1);
      const key = `${event}:${id}:${canonical(body.data.object)}`;
      idsByChange.set(key, (idsByChange.get(key) ?? new Set()).add(body.id));
      const history = this.history.get(id);
      if (!history) {
        figures.inconsistent += 1;
        problem(`${body.type} for unknown record ${id}`);
        continue;
      }
      const match = /chaos rev (\d+)/.exec(String(body.data.object[this.field] ?? ""));
      const rev = match ? Number(match[1]) : -1;
      const index = history.revs.indexOf(rev);
      if (index < 0) {
        figures.inconsistent += 1;
        problem(`${body.type} for ${id} carries rev ${rev}, a state it never had`);
        continue;
      }
      let rank = index;
      if (event === "deleted") {
        if (!history.deleted) {
          figures.falseDeletes += 1;
          problem(`deleted event for ${id}, which exists`);
        }
        deletedDelivered.add(id);
        rank = history.revs.length;
      } else {
        if (event === "created" && history.baseline) {
          figures.inconsistent += 1;
          problem(`created event for baseline record ${id}`);
        }
        deliveredRevs.set(id, (deliveredRevs.get(id) ?? new Set()).add(rev));
      }
      if (rank < (lastRank.get(id) ?? -1)) {
        figures.orderViolations += 1;
        problem(`record ${id}: ${body.type} (rev ${rev}) arrived after a later state`);
      }
      lastRank.set(id, Math.max(rank, lastRank.get(id) ?? -1));
    }
    figures.distinctEvents = seenIds.size;
    for (const ids of idsByChange.values()) if (ids.size > 1) figures.splitIds += 1;
    tallyFinalStates(this.history, (history) => history.revs, { anyEvent, deletedDelivered, delivered: deliveredRevs }, figures, problem, (final) => `rev ${final}`);
    return figures;
  }
}

function presetWorld(name: string, typePrefix: string, upstream: string, ops: PresetOps, field: string, config: (baseUrl: string) => Record<string, unknown>, close: () => Promise<void>): World {
  const ledger = new MarkerLedger(ops, field);
  return {
    name,
    typePrefix,
    upstream,
    sourceConfig: (baseUrl, extra) => ({ ...config(baseUrl), ...SCHEDULE, ...extra }),
    baseline: () => ledger.baseline(),
    randomChange: (random) => ledger.randomChange(random),
    get changes() {
      return ledger.changes;
    },
    made: ledger.made,
    verify: (requests, secret) => ledger.verify(requests, secret),
    close,
  };
}

export async function fakturowniaWorld(seed = 150): Promise<World> {
  const fake = await startFakturowniaFake({ apiToken: SECRETS.fakturowniaToken });
  fake.seed("invoices", seed);
  const ops: PresetOps = {
    ids: () => fake.all("invoices").map((r) => String(r.id)),
    create: (marker) => String(fake.create("invoices", { description: marker }).id),
    update: (id, marker) => void fake.update("invoices", Number(id), { description: marker }),
    pay(id, marker) {
      const invoice = fake.get("invoices", Number(id));
      if (!invoice || invoice.status === "paid") return false;
      fake.addPayment(Number(id), String(invoice.price_gross ?? "100.00"));
      fake.update("invoices", Number(id), { description: marker });
      return true;
    },
    remove(id) {
      fake.remove("invoices", Number(id));
      return true;
    },
  };
  return presetWorld("fakturownia", "invoice", fake.url, ops, "description", (baseUrl) => ({ name: "fakturownia", preset: "fakturownia", base_url: baseUrl, api_token: SECRETS.fakturowniaToken, resources: ["invoices"] }), () => fake.close());
}

export async function facturaScriptsWorld(seed = 150): Promise<World> {
  const fake = await startFacturaScriptsFake({ token: SECRETS.facturascriptsToken });
  fake.seed("facturaclientes", seed);
  const ops: PresetOps = {
    ids: () => fake.all("facturaclientes").map((r) => String(r.idfactura)),
    create: (marker) => String(fake.create("facturaclientes", { observaciones: marker, total: 100 }).idfactura),
    update: (id, marker) => void fake.update("facturaclientes", Number(id), { observaciones: marker }),
    pay(id, marker) {
      const row = fake.get("facturaclientes", Number(id));
      if (!row || row.pagada === true) return false;
      fake.payInvoice("facturaclientes", Number(id));
      fake.update("facturaclientes", Number(id), { observaciones: marker });
      return true;
    },
    remove(id) {
      return succeeds(() => fake.remove("facturaclientes", Number(id)));
    },
  };
  return presetWorld("facturascripts", "invoice", fake.url, ops, "observaciones", (baseUrl) => ({ name: "facturascripts", preset: "facturascripts", base_url: `${baseUrl}/api/3`, token: SECRETS.facturascriptsToken, resources: ["invoices"] }), () => fake.close());
}

export async function wfirmaWorld(seed = 150): Promise<World> {
  const keys = { accessKey: SECRETS.wfirmaAccessKey, secretKey: SECRETS.wfirmaSecretKey, appKey: SECRETS.wfirmaAppKey };
  const fake = await startWfirmaFake(keys);
  fake.seed("invoices", seed);
  const ops: PresetOps = {
    ids: () => fake.all("invoices").map((r) => String(r.id)),
    create: (marker) => String(fake.create("invoices", { description: marker }).id),
    update: (id, marker) => void fake.update("invoices", id, { description: marker }),
    pay(id, marker) {
      const invoice = fake.get("invoices", id) as Record<string, unknown> | undefined;
      if (!invoice || Number(invoice.alreadypaid ?? 0) >= Number(invoice.total ?? 0)) return false;
      fake.addPayment("invoice", id, String(invoice.total ?? "100.00"));
      fake.update("invoices", id, { description: marker });
      return true;
    },
    remove(id) {
      fake.remove("invoices", id);
      return true;
    },
  };
  return presetWorld("wfirma", "invoice", fake.url, ops, "description", (baseUrl) => ({ name: "wfirma", preset: "wfirma", base_url: baseUrl, access_key: keys.accessKey, secret_key: keys.secretKey, app_key: keys.appKey, resources: ["invoices"] }), () => fake.close());
}

export async function fakturoidWorld(seed = 150): Promise<World> {
  const fake = await startFakturoidFake({ clientId: SECRETS.fakturoidClientId, clientSecret: SECRETS.fakturoidClientSecret, rateLimit: { quota: 1_000_000, windowSeconds: 60 } });
  fake.seed("invoices", seed);
  const ops: PresetOps = {
    ids: () => fake.all("invoices").map((r) => String(r.id)),
    create: (marker) => String(fake.create("invoices", { note: marker }).id),
    update: (id, marker) => void fake.update("invoices", Number(id), { note: marker }),
    pay(id, marker) {
      const invoice = fake.get("invoices", Number(id));
      if (!invoice || invoice.status === "paid") return false;
      if (!succeeds(() => fake.addPayment("invoices", Number(id)))) return false;
      fake.update("invoices", Number(id), { note: marker });
      return true;
    },
    remove(id) {
      return succeeds(() => fake.remove("invoices", Number(id)));
    },
  };
  return presetWorld(
    "fakturoid",
    "invoice",
    fake.url,
    ops,
    "note",
    (baseUrl) => ({ name: "fakturoid", preset: "fakturoid", base_url: baseUrl, account: "acme", client_id: SECRETS.fakturoidClientId, client_secret: SECRETS.fakturoidClientSecret, user_agent: "retrohook-chaos (ops@example.com)", resources: ["invoices"] }),
    () => fake.close(),
  );
}

export const WORLDS: Record<string, (seed?: number) => Promise<World>> = {
  rest: restWorld,
  fakturownia: fakturowniaWorld,
  facturascripts: facturaScriptsWorld,
  wfirma: wfirmaWorld,
  fakturoid: fakturoidWorld,
};

/** Runs a change on a fake; false when the fake refused it (the record is gone, already paid…). */
function succeeds(change: () => unknown): boolean {
  try {
    change();
    return true;
  } catch {
    return false;
  }
}
