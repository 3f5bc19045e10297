import { SCHEMAS, type FsTable } from "./schema.js";
import { addDays, type LocalNow, type Row, type Value } from "./values.js";

/**
 * Column defaults (after Core/Table/*.xml) and realistic sample values for new rows. Values are
 * in stored form (ISO dates). Receipts, payments and log entries are normally made by the
 * store's business rules; their defaults only fill what a caller leaves out.
 */

/** When seeding, documents spread their `fecha` over the last year, oldest first. */
export interface SampleContext {
  i: number;
  now: LocalNow;
  seed?: { index: number; count: number };
}

const COLUMN_DEFAULTS: Partial<Record<string, Value>> = {
  pagada: false, vencida: false, editable: true, pagado: false, vencido: false, gastos: 0, importe: 0, liquidado: 0,
  bloqueado: false, nostock: false, publico: false, secompra: true, sevende: true, stockfis: 0, ventasinstock: false,
  debaja: false, personafisica: true, acreedor: false, irpf: 0, totalirpf: 0, totalrecargo: 0, tasaconv: 1,
  cantidad: 0, disponible: 0, pterecibir: 0, reservada: 0, stockmax: 0, stockmin: 0, precio: 0, riesgoalcanzado: 0,
};

const templates = new Map<FsTable, Row>();

/** Every column, NULL unless the table definition gives a default. */
export function blankRow(table: FsTable): Row {
  let template = templates.get(table);
  if (!template) {
    template = {};
    for (const column of Object.keys(SCHEMAS[table].columns)) template[column] = COLUMN_DEFAULTS[column] ?? null;
    templates.set(table, template);
  }
  return { ...template };
}

const CUSTOMERS = ["Distribuciones García S.L.", "Talleres Martínez", "Construcciones López S.A.", "Farmacia Sánchez", "Panadería La Espiga", "Transportes Ruiz", "Librería Cervantes", "Hotel Mediterráneo", "Clínica Dental Sonrisa", "Bodegas del Duero"];
const SUPPLIERS = ["Suministros Industriales S.A.", "Papelería Central", "Energía Verde S.L.", "Telefónica de España", "Maderas del Norte"];
const CITIES: Array<[string, string, string]> = [["Madrid", "28001", "Madrid"], ["Barcelona", "08001", "Barcelona"], ["Valencia", "46001", "Valencia"], ["Sevilla", "41001", "Sevilla"], ["Bilbao", "48001", "Vizcaya"]];
const PRODUCTS = ["Tornillo M6", "Cable de red 5m", "Silla de oficina", "Papel A4 500h", "Monitor 27\"", "Teclado USB", "Licencia anual", "Servicio técnico (hora)"];

function pick<T>(list: readonly T[], i: number): T {
  return list[((i % list.length) + list.length) % list.length] as T;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function cifnif(i: number): string {
  return `B${String(10_000_000 + ((i * 7_919_113) % 89_999_999)).slice(0, 8)}`;
}

/** A customer or supplier code as FacturaScripts assigns it: a plain number ("1", "10"). */
export function partyCode(n: number): string {
  return String(n);
}

export function documentDate(context: SampleContext): string {
  if (!context.seed) return context.now.date;
  const { index, count } = context.seed;
  return addDays(context.now.date, -Math.floor(((count - 1 - index) * 365) / Math.max(1, count)));
}

function documentTime(context: SampleContext): string {
  if (!context.seed) return context.now.time;
  const seconds = (8 * 3600 + context.i * 37) % 86_400;
  return [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60].map((n) => String(n).padStart(2, "0")).join(":");
}

function documentSample(context: SampleContext, sales: boolean): Row {
  const fecha = documentDate(context);
  const [ciudad, codpostal, provincia] = pick(CITIES, context.i);
  const total = round2(((context.i * 7_919) % 300_000) / 100 + 12.1);
  const neto = round2(total / 1.21);
  // one literal (no spreads): seeding 100,000 documents must stay cheap
  return {
    total, totaleuros: total, neto, netosindto: neto, totaliva: round2(total - neto), fecha, hora: documentTime(context), codserie: "A",
    codejercicio: fecha.slice(0, 4), codalmacen: "ALG1", coddivisa: "EUR", codpago: "TRANS", idempresa: 1, idestado: sales ? 11 : 21, nick: "admin",
    observaciones: "", codpais: sales ? "ESP" : null, ciudad: sales ? ciudad : null, codpostal: sales ? codpostal : null, provincia: sales ? provincia : null,
    direccion: sales ? `Calle Mayor ${(context.i % 120) + 1}` : null, numero2: sales ? "" : null, numproveedor: sales ? null : `F-${1000 + context.i}`,
  };
}

/** Sample values of a new row (before the store applies numbering and links). */
export function sampleRow(table: FsTable, context: SampleContext): Row {
  const { i, now } = context;
  switch (table) {
    case "facturaclientes":
    case "albaranclientes":
      return documentSample(context, true);
    case "facturaproveedores":
    case "albaranproveedores":
      return documentSample(context, false);
    case "reciboclientes":
    case "reciboproveedores":
      return { fecha: now.date, vencimiento: addDays(now.date, 30), coddivisa: "EUR", codpago: "TRANS", idempresa: 1, numero: 1, nick: "admin", observaciones: "" };
    case "pagoclientes":
    case "pagoproveedores":
      return { fecha: now.date, hora: now.time, codpago: "TRANS", nick: "admin" };
    case "clientes":
    case "proveedores": {
      const nombre = table === "clientes" ? pick(CUSTOMERS, i) : pick(SUPPLIERS, i);
      const suffix = i >= (table === "clientes" ? CUSTOMERS.length : SUPPLIERS.length) ? ` ${i}` : "";
      return {
        nombre: nombre + suffix, razonsocial: nombre + suffix, cifnif: cifnif(i), tipoidfiscal: "CIF", personafisica: false, email: `contacto${i}@example.es`,
        telefono1: `9${String(10_000_000 + i).slice(-8)}`, fechaalta: documentDate(context), codpago: "TRANS", codserie: "A", regimeniva: "General", langcode: "es_ES", observaciones: "",
      };
    }
    case "productos": {
      const fechaalta = documentDate(context);
      const saved = `${fechaalta} ${documentTime(context)}`;
      return {
        referencia: `REF${String(i + 1).padStart(5, "0")}`, descripcion: pick(PRODUCTS, i), precio: round2(((i * 3_571) % 50_000) / 100 + 1), codimpuesto: "IVA21",
        fechaalta, actualizado: saved < now.timestamp ? saved : now.timestamp, tipo: "Producto", stockfis: (i * 13) % 200,
      };
    }
    case "stocks": {
      const cantidad = (i * 17) % 500;
      return { codalmacen: "ALG1", idproducto: i + 1, referencia: `REF${String(i + 1).padStart(5, "0")}`, cantidad, disponible: cantidad, ubicacion: "" };
    }
    case "logmessages":
      return { channel: "master", level: "info", message: "Inicio de sesión correcto", time: now.timestamp, ip: "127.0.0.1", nick: "admin" };
  }
}
