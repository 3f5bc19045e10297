import { FakturowniaValidationError, type FakturowniaRecord } from "./records.js";

/**
 * Native webhooks of the fake, limited to what Fakturownia sends: `invoice:*` (income invoices
 * only), `client:*` and `product:*`. Cost invoices, warehouse documents and payments never fire.
 * Receivers must be on loopback. A webhook that fails 25 deliveries in a row is deactivated,
 * like the real one (each event is tried once; the fake does not retry).
 */

export const WEBHOOK_KINDS = new Set(["invoice:create", "invoice:update", "invoice:destroy", "client:create", "client:update", "client:destroy", "product:create", "product:update", "product:destroy"]);
const MAX_FAILURES = 25;

export interface WebhookDelivery {
  webhookId: number;
  kind: string;
  url: string;
  status: number;
  at: number;
}

function loopback(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return (protocol === "http:" || protocol === "https:") && ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
  } catch {
    return false;
  }
}

export class WebhookHub {
  readonly hooks = new Map<number, FakturowniaRecord>();
  readonly deliveries: WebhookDelivery[] = [];
  private nextId = 1;
  private failures = new Map<number, number>();
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly stamp: () => string,
    private readonly now: () => number,
  ) {}

  save(fields: Record<string, unknown>, id?: number): FakturowniaRecord {
    const existing = id === undefined ? undefined : this.hooks.get(id);
    const merged: FakturowniaRecord = { active: true, api_token: null, ...existing, ...fields };
    const errors: Record<string, string[]> = {};
    if (typeof merged.kind !== "string" || !WEBHOOK_KINDS.has(merged.kind)) errors.kind = ["nie znajduje się na liście dopuszczalnych wartości"];
    if (typeof merged.url !== "string" || !loopback(merged.url)) errors.url = ["jest nieprawidłowe"];
    if (Object.keys(errors).length > 0) throw new FakturowniaValidationError(errors);
    const stamp = this.stamp();
    const record: FakturowniaRecord = { ...merged, id: existing ? existing.id : this.nextId++, created_at: existing?.created_at ?? stamp, updated_at: stamp };
    this.hooks.set(record.id as number, record);
    if (fields.active === true) this.failures.delete(record.id as number);
    return record;
  }

  /** Posts `{kind, <object>: record, app_name, api_token, locale}` to every active hook of that kind. */
  emit(kind: string, object: "invoice" | "client" | "product", record: FakturowniaRecord): void {
    for (const hook of this.hooks.values()) {
      if (hook.kind !== kind || hook.active !== true) continue;
      const body = JSON.stringify({ kind, [object]: record, app_name: "fakturownia", api_token: hook.api_token, locale: "pl" });
      const delivery = this.deliver(hook, kind, body);
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    }
  }

  /** Resolves once every delivery started so far has finished. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(hook: FakturowniaRecord, kind: string, body: string): Promise<void> {
    const id = hook.id as number;
    let status = 0;
    try {
      const response = await fetch(String(hook.url), { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(10_000) });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = -1;
    }
    this.deliveries.push({ webhookId: id, kind, url: String(hook.url), status, at: this.now() });
    if (status >= 200 && status < 300) {
      this.failures.delete(id);
      return;
    }
    const failures = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, failures);
    const current = this.hooks.get(id);
    if (failures >= MAX_FAILURES && current) this.hooks.set(id, { ...current, active: false, updated_at: this.stamp() });
  }
}
