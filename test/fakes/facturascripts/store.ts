import { blankRow, partyCode, sampleRow, type SampleContext } from "./records.js";
import { INVOICE_OF, PAYMENTS_OF, RECEIPTS_OF, SCHEMAS, type FsTable, type InvoiceTable, type ReceiptTable } from "./schema.js";
import { TableData, type Key } from "./table.js";
import { addDays, coerce, FsSaveError, htmlEscape, localNow, renderRow, renderValue, type LocalNow, type LocalTime, type Row, type Value } from "./values.js";

/**
 * The records and business rules of one fake FacturaScripts installation: serial ids that only
 * grow, document numbering that refills gaps, receipts generated for invoices, payments rows on
 * (un)paying receipts, `pagada` recomputed from receipts, cascading deletes, and the audit feed
 * (`logmessages`) written on updates and deletions of invoices and delivery notes.
 */

export class FsNotFoundError extends Error {
  override name = "FsNotFoundError";
}

/** `POST` of an existing primary key. */
export class FsDuplicateError extends Error {
  override name = "FsDuplicateError";
  constructor(readonly existing: Row) {
    super("duplicate record");
  }
}

/** The model refused to delete (an issued invoice, `editable: false`). */
export class FsDeleteRefusedError extends Error {
  override name = "FsDeleteRefusedError";
}

export interface WriteContext {
  /** Request path for log entries; undefined = an in-process edit (logged as the web UI would). */
  uri?: string;
}

interface Gap {
  numero: number;
  fecha: Value;
  hora: Value;
}

interface Sequence {
  max: number;
  gaps: Gap[];
}

const DOCUMENT_TABLES = new Set<FsTable>(["facturaclientes", "facturaproveedores", "albaranclientes", "albaranproveedores"]);
const CODE_PREFIX: Partial<Record<FsTable, string>> = { facturaclientes: "FAC", facturaproveedores: "FAC", albaranclientes: "ALB", albaranproveedores: "ALB" };
const PARTY_OF: Partial<Record<FsTable, { table: "clientes" | "proveedores"; key: string; name: string }>> = {
  facturaclientes: { table: "clientes", key: "codcliente", name: "nombrecliente" },
  albaranclientes: { table: "clientes", key: "codcliente", name: "nombrecliente" },
  facturaproveedores: { table: "proveedores", key: "codproveedor", name: "nombre" },
  albaranproveedores: { table: "proveedores", key: "codproveedor", name: "nombre" },
};

function isInvoiceTable(table: FsTable): table is InvoiceTable {
  return table === "facturaclientes" || table === "facturaproveedores";
}

function isReceiptTable(table: FsTable): table is ReceiptTable {
  return table === "reciboclientes" || table === "reciboproveedores";
}

export class FsStore {
  readonly tables: Record<FsTable, TableData>;
  private sequences = new Map<string, Sequence>();

  constructor(private readonly time: LocalTime) {
    const tables = {} as Record<FsTable, TableData>;
    for (const table of Object.keys(SCHEMAS) as FsTable[]) {
      const parent = isReceiptTable(table) ? "idfactura" : table === "pagoclientes" || table === "pagoproveedores" ? "idrecibo" : undefined;
      tables[table] = new TableData(SCHEMAS[table], parent);
    }
    this.tables = tables;
  }

  now(): LocalNow {
    return localNow(this.time);
  }

  get(table: FsTable, id: unknown): Row | undefined {
    const data = this.tables[table];
    const key = data.key(id);
    return key === undefined ? undefined : data.rows.get(key);
  }

  render(table: FsTable, row: Row): Record<string, Value> {
    return renderRow(SCHEMAS[table], row);
  }

  /** Known columns of a write, coerced; unknown keys are ignored like model properties. */
  private coerceFields(table: FsTable, fields: Record<string, unknown>): Row {
    const columns = SCHEMAS[table].columns;
    const row: Row = {};
    for (const [name, raw] of Object.entries(fields)) {
      const type = columns[name];
      if (type) row[name] = coerce(type, raw === "null" ? null : raw, name);
    }
    return row;
  }

  /** Creating writes no log entry (only updates and deletions are audited). */
  insert(table: FsTable, fields: Record<string, unknown>, sample?: SampleContext, bulk = false): Row {
    const data = this.tables[table];
    const schema = SCHEMAS[table];
    const input = this.coerceFields(table, fields);
    const pk = schema.primaryKey;
    const requested = input[pk];
    if (requested !== undefined && requested !== null && data.rows.has(requested as Key)) throw new FsDuplicateError(data.rows.get(requested as Key) as Row);
    const now = sample?.now ?? this.now();
    const row = Object.assign(blankRow(table), sampleRow(table, sample ?? { i: data.rows.size, now }), input);
    this.prepareNew(table, row, input, now, sample?.seed !== undefined);
    this.validate(table, row, undefined);
    row[pk] = data.serial ? data.allocate(requested ?? null) : (requested ?? this.nextPartyCode(table));
    data.put(row, bulk);
    this.afterInsert(table, row, input, now, bulk);
    return row;
  }

  /**
   * FacturaScripts' `newCode()`: the highest all-digit code plus one, not padded — "9" is
   * followed by "10", which sorts before it as text.
   */
  private nextPartyCode(table: FsTable): string {
    const kind = table === "proveedores" ? "proveedores" : "clientes";
    let highest = 0;
    for (const code of this.tables[kind].rows.keys()) if (/^\d+$/.test(String(code))) highest = Math.max(highest, Number(code));
    return partyCode(highest + 1);
  }

  private sequence(table: FsTable, row: Row): Sequence {
    const key = `${table}|${String(row.codserie)}|${String(row.codejercicio)}|${String(row.idempresa)}`;
    let sequence = this.sequences.get(key);
    if (!sequence) this.sequences.set(key, (sequence = { max: 0, gaps: [] }));
    return sequence;
  }

  private prepareNew(table: FsTable, row: Row, input: Row, now: LocalNow, seeded: boolean): void {
    if (DOCUMENT_TABLES.has(table)) {
      if (input.fecha && !input.codejercicio) row.codejercicio = String(row.fecha).slice(0, 4);
      this.linkParty(table, row, input);
      const sequence = this.sequence(table, row);
      if (input.numero === undefined || input.numero === null) {
        // numbering refills gaps left by deletions, taking the deleted document's date and time
        const gap = sequence.gaps.shift();
        if (gap) {
          row.numero = String(gap.numero);
          if (input.fecha === undefined) row.fecha = gap.fecha;
          if (input.hora === undefined) row.hora = gap.hora;
        } else row.numero = String(++sequence.max);
      } else {
        const n = Number(row.numero);
        sequence.gaps = sequence.gaps.filter((g) => g.numero !== n);
        if (Number.isInteger(n)) sequence.max = Math.max(sequence.max, n);
      }
      if (input.codigo === undefined || input.codigo === null) row.codigo = `${CODE_PREFIX[table] ?? ""}${String(row.codejercicio)}${String(row.codserie)}${String(row.numero)}`;
      if (input.totaleuros === undefined && input.total !== undefined) row.totaleuros = row.total;
    }
    // every save stamps `actualizado`; seeded products keep a past one (their sample history)
    if (table === "productos" && !seeded) row.actualizado = now.timestamp;
    if (table === "stocks" && input.disponible === undefined) row.disponible = Number(row.cantidad ?? 0) - Number(row.reservada ?? 0);
    if (isReceiptTable(table)) {
      const invoice = row.idfactura === null ? undefined : this.tables[INVOICE_OF[table]].rows.get(row.idfactura as Key);
      if (invoice) {
        if (input.codigofactura === undefined) row.codigofactura = invoice.codigo ?? null;
        const party = table === "reciboclientes" ? "codcliente" : "codproveedor";
        if (input[party] === undefined) row[party] = invoice[party] ?? null;
        if (input.numero === undefined) row.numero = this.tables[table].childrenOf(invoice.idfactura as Key).length + 1;
      }
      row.vencido = row.pagado !== true && row.vencimiento !== null && String(row.vencimiento) < now.date;
    }
  }

  /** Copies name and tax id from the customer/supplier; picks the first one when none is given. */
  private linkParty(table: FsTable, row: Row, input: Row): void {
    const link = PARTY_OF[table];
    if (!link) return;
    const parties = this.tables[link.table].rows;
    if (input[link.key] === undefined || input[link.key] === null) {
      const first = parties.keys().next();
      row[link.key] = first.done ? partyCode(1) : (first.value as string);
    }
    const party = parties.get(String(row[link.key]));
    if (input[link.name] === undefined) row[link.name] = (party?.nombre as string | undefined) ?? (link.table === "clientes" ? "Cliente genérico" : "Proveedor genérico");
    if (input.cifnif === undefined) row.cifnif = (party?.cifnif as string | undefined) ?? "00000000T";
  }

  private validate(table: FsTable, row: Row, previous: Row | undefined): void {
    const required: Partial<Record<FsTable, string[]>> = {
      clientes: ["nombre"], proveedores: ["nombre"], productos: ["referencia"], facturaclientes: ["fecha", "codigo"], facturaproveedores: ["fecha", "codigo"],
      albaranclientes: ["fecha", "codigo"], albaranproveedores: ["fecha", "codigo"], pagoclientes: ["idrecibo", "fecha"], pagoproveedores: ["idrecibo", "fecha"],
    };
    for (const column of required[table] ?? []) {
      if (row[column] === null || row[column] === "") throw new FsSaveError(`El campo ${column} de la tabla ${SCHEMAS[table].sqlTable} no puede ser nulo`);
    }
    if (table === "productos" && (!previous || previous.referencia !== row.referencia)) {
      for (const other of this.tables.productos.rows.values()) {
        if (other !== previous && other.referencia === row.referencia) throw new FsSaveError(`Referencia '${String(row.referencia)}' duplicada`);
      }
    }
  }

  private afterInsert(table: FsTable, row: Row, input: Row, now: LocalNow, bulk: boolean): void {
    if (isInvoiceTable(table)) {
      const receipts = this.tables[RECEIPTS_OF[table]];
      if (Number(row.total) !== 0) {
        const party = table === "facturaclientes" ? "codcliente" : "codproveedor";
        const receipt = Object.assign(blankRow(RECEIPTS_OF[table]), sampleRow(RECEIPTS_OF[table], { i: 0, now }), {
          idfactura: row.idfactura, codigofactura: row.codigo, [party]: row[party] ?? null, importe: row.total, fecha: row.fecha,
          vencimiento: addDays(String(row.fecha), 30), codpago: row.codpago, coddivisa: row.coddivisa, idempresa: row.idempresa,
        });
        receipt.idrecibo = receipts.allocate(null);
        receipt.vencido = String(receipt.vencimiento) < now.date;
        receipts.put(receipt, bulk);
      }
      row.pagada = false;
      // a document created as paid was paid a few days after its date (today at the latest)
      const paidOn = addDays(String(row.fecha), 5) < now.date ? addDays(String(row.fecha), 5) : now.date;
      if (input.pagada === true) this.payInvoice(table, row.idfactura as number, true, { fechapago: paidOn }, bulk, now);
      else this.recomputeInvoice(table, row.idfactura as number, bulk);
    }
    if (isReceiptTable(table)) {
      if (row.pagado === true) this.addPayment(table, row, Number(row.importe), (row.fechapago as string | null) ?? now.date, now, bulk);
      if (row.pagado === true && row.fechapago === null) row.fechapago = now.date;
      if (row.idfactura !== null) this.recomputeInvoice(INVOICE_OF[table], row.idfactura as number, bulk);
    }
  }

  private addPayment(table: ReceiptTable, receipt: Row, importe: number, fecha: string, now: LocalNow, bulk: boolean): void {
    const payments = this.tables[PAYMENTS_OF[table]];
    const payment = Object.assign(blankRow(PAYMENTS_OF[table]), sampleRow(PAYMENTS_OF[table], { i: 0, now }), { idrecibo: receipt.idrecibo, importe, fecha, hora: now.time, codpago: receipt.codpago });
    payment.idpago = payments.allocate(null);
    payments.put(payment, bulk);
  }

  /** `pagada` follows the receipts (a plain SQL update: no log entry); `vencida` likewise. */
  private recomputeInvoice(table: InvoiceTable, id: number, bulk = false): void {
    const invoices = this.tables[table];
    const invoice = invoices.rows.get(id);
    if (!invoice) return;
    const receipts = this.tables[RECEIPTS_OF[table]].childrenOf(id);
    if (receipts.length === 0) return;
    const pagada = receipts.every((r) => r.pagado === true);
    const vencida = !pagada && receipts.some((r) => r.vencido === true);
    if (invoice.pagada === pagada && invoice.vencida === vencida) return;
    // rows leave the store only as rendered copies, so an in-place change is safe once views are dropped
    invoice.pagada = pagada;
    invoice.vencida = vencida;
    if (!bulk) invoices.changed();
  }

  /** Marks one receipt paid or unpaid: a payment row (negative when unpaying), then the invoice. */
  private setReceiptPaid(table: ReceiptTable, receipt: Row, paid: boolean, options: { fechapago?: Value; codpago?: Value }, now: LocalNow, bulk: boolean): Row {
    const next: Row = { ...receipt, pagado: paid };
    if (options.codpago !== undefined && options.codpago !== null) next.codpago = options.codpago;
    if (paid) next.fechapago = options.fechapago ?? receipt.fechapago ?? now.date;
    else next.fechapago = null;
    next.vencido = !paid && next.vencimiento !== null && String(next.vencimiento) < now.date;
    this.tables[table].put(next, bulk);
    if (receipt.pagado !== paid) this.addPayment(table, next, paid ? Number(next.importe) : -Number(next.importe), paid ? String(next.fechapago) : now.date, now, bulk);
    return next;
  }

  /** Like `pagarFacturaCliente`: (un)pays every receipt; returns false when nothing changed. */
  payInvoice(table: InvoiceTable, id: number, paid: boolean, options: { fechapago?: unknown; codpago?: unknown } = {}, bulk = false, now = this.now()): boolean {
    const invoice = this.tables[table].rows.get(id);
    if (!invoice) throw new FsNotFoundError(`${table} ${id} not found`);
    if (invoice.pagada === paid) return false;
    const receiptTable = RECEIPTS_OF[table];
    const fechapago = options.fechapago === undefined ? undefined : coerce("date", options.fechapago, "fechapago");
    const codpago = options.codpago === undefined ? undefined : String(options.codpago);
    const receipts = this.tables[receiptTable].childrenOf(id);
    for (const receipt of receipts) this.setReceiptPaid(receiptTable, receipt, paid, { fechapago, codpago }, now, bulk);
    if (receipts.length === 0) this.tables[table].put({ ...invoice, pagada: paid, vencida: false }, bulk);
    else this.recomputeInvoice(table, id, bulk);
    return true;
  }

  update(table: FsTable, id: unknown, patch: Record<string, unknown>, context: WriteContext = {}): Row {
    const data = this.tables[table];
    const current = this.get(table, id);
    if (!current) throw new FsNotFoundError(`${table} ${String(id)} not found`);
    const schema = SCHEMAS[table];
    const input = this.coerceFields(table, patch);
    delete input[schema.primaryKey];
    const now = this.now();
    const changed = Object.keys(input).filter((column) => input[column] !== current[column]);
    const next: Row = { ...current, ...input };
    if (table === "productos") next.actualizado = now.timestamp;
    if (table === "stocks" && input.disponible === undefined) next.disponible = Number(next.cantidad ?? 0) - Number(next.reservada ?? 0);
    // paying goes through the receipts, as InvoiceTrait does on save
    const payTo = isInvoiceTable(table) && "pagada" in input && input.pagada !== current.pagada ? input.pagada === true : undefined;
    if (payTo !== undefined) next.pagada = current.pagada;
    if (isReceiptTable(table)) next.pagado = current.pagado;
    this.validate(table, next, current);
    data.put(next);
    const key = current[schema.primaryKey] as Key;

    if (isReceiptTable(table)) {
      if ("pagado" in input && input.pagado !== current.pagado) this.setReceiptPaid(table, next, input.pagado === true, { fechapago: input.fechapago }, now, false);
      if (next.idfactura !== null) this.recomputeInvoice(INVOICE_OF[table], next.idfactura as number);
      if (current.idfactura !== null && current.idfactura !== next.idfactura) this.recomputeInvoice(INVOICE_OF[table], current.idfactura as number);
    }
    if (isInvoiceTable(table)) {
      if ("total" in input && input.total !== current.total) this.rebalanceReceipts(table, key as number, Number(input.total));
      if (payTo !== undefined) this.payInvoice(table, key as number, payTo, { fechapago: patch.fechapago });
    }
    if (schema.auditChannel && changed.length > 0) {
      const changes: Record<string, Value> = {};
      for (const column of changed) changes[column] = renderValue(schema.columns[column] ?? "varchar", input[column] ?? null);
      this.audit(table, "info", data.rows.get(key) ?? next, JSON.stringify(changes), context);
    }
    return data.rows.get(key) ?? next;
  }

  /** A new total is spread onto the unpaid receipts (the last one takes the difference). */
  private rebalanceReceipts(table: InvoiceTable, id: number, total: number): void {
    const receiptTable = RECEIPTS_OF[table];
    const receipts = this.tables[receiptTable].childrenOf(id);
    const unpaid = receipts.filter((r) => r.pagado !== true);
    const last = unpaid[unpaid.length - 1];
    if (!last) return;
    const others = receipts.filter((r) => r !== last).reduce((sum, r) => sum + Number(r.importe ?? 0), 0);
    this.tables[receiptTable].put({ ...last, importe: Math.round((total - others) * 100) / 100 });
    this.recomputeInvoice(table, id);
  }

  remove(table: FsTable, id: unknown, context: WriteContext = {}): Row {
    const data = this.tables[table];
    const row = this.get(table, id);
    if (!row) throw new FsNotFoundError(`${table} ${String(id)} not found`);
    const key = row[SCHEMAS[table].primaryKey] as Key;
    if (DOCUMENT_TABLES.has(table) && row.editable === false) throw new FsDeleteRefusedError("Documento no editable");
    if (isInvoiceTable(table)) {
      for (const receipt of this.tables[RECEIPTS_OF[table]].childrenOf(key)) this.deleteReceipt(RECEIPTS_OF[table], receipt);
    }
    if (isReceiptTable(table)) this.deleteReceipt(table, row);
    else data.delete(key);
    if (isReceiptTable(table) && row.idfactura !== null) this.recomputeInvoice(INVOICE_OF[table], row.idfactura as number);
    if (DOCUMENT_TABLES.has(table)) {
      const sequence = this.sequence(table, row);
      const numero = Number(row.numero);
      if (Number.isInteger(numero)) {
        sequence.gaps.push({ numero, fecha: row.fecha ?? null, hora: row.hora ?? null });
        sequence.gaps.sort((a, b) => a.numero - b.numero);
      }
    }
    if (SCHEMAS[table].auditChannel) this.audit(table, "warning", row, JSON.stringify(this.render(table, row)), context);
    return row;
  }

  private deleteReceipt(table: ReceiptTable, receipt: Row): void {
    const payments = this.tables[PAYMENTS_OF[table]];
    for (const payment of payments.childrenOf(receipt.idrecibo ?? null)) payments.delete(payment.idpago as Key);
    this.tables[table].delete(receipt.idrecibo as Key);
  }

  private audit(table: FsTable, level: "info" | "warning", row: Row, context: string, write: WriteContext): void {
    const schema = SCHEMAS[table];
    const key = String(row[schema.primaryKey]);
    const verb = level === "info" ? "Actualizado" : "Eliminado";
    const uri = write.uri ?? `/Edit${schema.model}?code=${key}`;
    this.insert("logmessages", {
      channel: schema.auditChannel ?? "audit", level, model: schema.model, modelcode: key, message: `${verb} ${schema.model} (${key}) ${String(row.codigo ?? "")}`.trim(),
      context: htmlEscape(context), ip: "127.0.0.1", nick: write.uri === undefined ? "admin" : null, uri, time: this.now().timestamp,
    });
  }

  /** Bulk insert of sample rows: no validation beyond the model's, no log entries. */
  seed(table: FsTable, count: number): void {
    const now = this.now();
    const start = this.tables[table].rows.size;
    const link = PARTY_OF[table];
    const parties = link ? [...this.tables[link.table].rows.keys()] : [];
    for (let index = 0; index < count; index++) {
      const i = start + index;
      const fields: Record<string, unknown> = isInvoiceTable(table) ? { pagada: index % 3 === 0 } : {};
      if (link && parties.length > 0) fields[link.key] = parties[i % parties.length];
      if (table === "clientes" || table === "proveedores") fields[table === "clientes" ? "codcliente" : "codproveedor"] = this.nextPartyCode(table);
      this.insert(table, fields, { i, now, seed: { index, count } }, true);
    }
    for (const data of Object.values(this.tables)) data.changed();
  }
}
