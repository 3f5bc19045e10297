/**
 * The tables the FacturaScripts fake serves, after Core/Table/*.xml (trimmed to the columns a
 * poller or a realistic record needs). Resource names are the API's lower-cased plurals.
 */

export type FsTable =
  | "facturaclientes"
  | "facturaproveedores"
  | "albaranclientes"
  | "albaranproveedores"
  | "reciboclientes"
  | "reciboproveedores"
  | "pagoclientes"
  | "pagoproveedores"
  | "clientes"
  | "proveedores"
  | "productos"
  | "stocks"
  | "logmessages";

export type ColumnType = "serial" | "integer" | "double" | "boolean" | "date" | "time" | "timestamp" | "varchar" | "text";

export interface TableSchema {
  /** Model class name, as logged in `logmessages.model`. */
  model: string;
  /** SQL table name. */
  sqlTable: string;
  primaryKey: string;
  columns: Readonly<Record<string, ColumnType>>;
  /** Audit channel of update/delete log entries; undefined = the model does not log. */
  auditChannel?: "audit" | "docs";
}

const S = "varchar";
const T = "text";
const I = "integer";
const F = "double";
const B = "boolean";
const D = "date";
const H = "time";

const salesDocument = {
  cifnif: S, ciudad: S, codagente: S, codalmacen: S, codcliente: S, coddivisa: S, codejercicio: S, codigo: S, codpago: S,
  codpais: S, codpostal: S, codserie: S, direccion: S, editable: B, fecha: D, femail: D, hora: H, idempresa: I, idestado: I,
  irpf: F, neto: F, netosindto: F, nick: S, nombrecliente: S, numero: S, numero2: S, observaciones: T, provincia: S,
  tasaconv: F, total: F, totaleuros: F, totalirpf: F, totaliva: F, totalrecargo: F,
} as const;

const purchaseDocument = {
  cifnif: S, codalmacen: S, coddivisa: S, codejercicio: S, codigo: S, codpago: S, codproveedor: S, codserie: S, editable: B,
  fecha: D, femail: D, hora: H, idempresa: I, idestado: I, irpf: F, neto: F, netosindto: F, nick: S, nombre: S, numero: S,
  numproveedor: S, observaciones: T, tasaconv: F, total: F, totaleuros: F, totalirpf: F, totaliva: F, totalrecargo: F,
} as const;

const receipt = {
  codigofactura: S, coddivisa: S, codpago: S, fecha: D, fechapago: D, gastos: F, idempresa: I, idfactura: I, idrecibo: "serial",
  importe: F, liquidado: F, nick: S, numero: I, observaciones: T, pagado: B, vencido: B, vencimiento: D,
} as const;

const payment = {
  codpago: S, customid: S, customstatus: S, fecha: D, gastos: F, hora: H, idasiento: I, idpago: "serial", idrecibo: I, importe: F, nick: S,
} as const;

const party = {
  cifnif: S, codpago: S, codserie: S, codsubcuenta: S, debaja: B, email: S, fax: S, fechaalta: D, fechabaja: D, langcode: S,
  nombre: S, observaciones: T, personafisica: B, razonsocial: S, regimeniva: S, telefono1: S, telefono2: S, tipoidfiscal: S, web: S,
} as const;

export const SCHEMAS: Readonly<Record<FsTable, TableSchema>> = {
  facturaclientes: {
    model: "FacturaCliente", sqlTable: "facturascli", primaryKey: "idfactura", auditChannel: "audit",
    columns: { ...salesDocument, codigorect: S, idasiento: I, idfactura: "serial", idfacturarect: I, pagada: B, vencida: B },
  },
  facturaproveedores: {
    model: "FacturaProveedor", sqlTable: "facturasprov", primaryKey: "idfactura", auditChannel: "docs",
    columns: { ...purchaseDocument, codigorect: S, idasiento: I, idfactura: "serial", idfacturarect: I, pagada: B, vencida: B },
  },
  albaranclientes: {
    model: "AlbaranCliente", sqlTable: "albaranescli", primaryKey: "idalbaran", auditChannel: "docs",
    columns: { ...salesDocument, idalbaran: "serial" },
  },
  albaranproveedores: {
    model: "AlbaranProveedor", sqlTable: "albaranesprov", primaryKey: "idalbaran", auditChannel: "docs",
    columns: { ...purchaseDocument, idalbaran: "serial" },
  },
  reciboclientes: { model: "ReciboCliente", sqlTable: "recibospagoscli", primaryKey: "idrecibo", columns: { ...receipt, codcliente: S } },
  reciboproveedores: { model: "ReciboProveedor", sqlTable: "recibospagosprov", primaryKey: "idrecibo", columns: { ...receipt, codproveedor: S } },
  pagoclientes: { model: "PagoCliente", sqlTable: "pagoscli", primaryKey: "idpago", columns: payment },
  pagoproveedores: { model: "PagoProveedor", sqlTable: "pagosprov", primaryKey: "idpago", columns: payment },
  clientes: {
    model: "Cliente", sqlTable: "clientes", primaryKey: "codcliente",
    columns: { ...party, codagente: S, codcliente: S, codgrupo: S, codproveedor: S, idcontactoenv: I, idcontactofact: I, riesgoalcanzado: F, riesgomax: F },
  },
  proveedores: { model: "Proveedor", sqlTable: "proveedores", primaryKey: "codproveedor", columns: { ...party, acreedor: B, codcliente: S, codproveedor: S, idcontacto: I } },
  productos: {
    model: "Producto", sqlTable: "productos", primaryKey: "idproducto",
    columns: {
      actualizado: "timestamp", bloqueado: B, codfabricante: S, codfamilia: S, codimpuesto: S, descripcion: T, fechaalta: D, idproducto: "serial",
      nostock: B, observaciones: T, precio: F, publico: B, referencia: S, secompra: B, sevende: B, stockfis: F, tipo: S, ventasinstock: B,
    },
  },
  stocks: {
    model: "Stock", sqlTable: "stocks", primaryKey: "idstock",
    columns: { cantidad: F, codalmacen: S, disponible: F, idproducto: I, idstock: "serial", pterecibir: F, referencia: S, reservada: F, stockmax: F, stockmin: F, ubicacion: S },
  },
  logmessages: {
    model: "LogMessage", sqlTable: "logs", primaryKey: "id",
    columns: { channel: S, context: T, id: "serial", idcontacto: I, ip: S, level: S, message: S, model: S, modelcode: S, nick: S, time: "timestamp", uri: S },
  },
};

export const FS_TABLES = Object.keys(SCHEMAS) as FsTable[];

export function isFsTable(name: string): name is FsTable {
  return Object.hasOwn(SCHEMAS, name);
}

/** SQL type names the `/schema` endpoint reports. */
export const SQL_TYPES: Readonly<Record<ColumnType, string>> = {
  serial: "serial",
  integer: "integer",
  double: "double precision",
  boolean: "boolean",
  date: "date",
  time: "time",
  timestamp: "timestamp",
  varchar: "character varying",
  text: "text",
};

/** The invoice each receipt table belongs to, and the payment table of its receipts. */
export const RECEIPTS_OF = { facturaclientes: "reciboclientes", facturaproveedores: "reciboproveedores" } as const;
export const PAYMENTS_OF = { reciboclientes: "pagoclientes", reciboproveedores: "pagoproveedores" } as const;
export const INVOICE_OF = { reciboclientes: "facturaclientes", reciboproveedores: "facturaproveedores" } as const;
export type InvoiceTable = keyof typeof RECEIPTS_OF;
export type ReceiptTable = keyof typeof PAYMENTS_OF;
