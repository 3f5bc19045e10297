import type { RecordLink } from "./api-types.js";

/** Attributes of `h`: `text` sets textContent, `class` the class name, `on…` a listener. */
export type Attrs = Record<string, unknown>;
export type Child = Node | string | number | null | undefined | false;

/** One element. Every text goes in through textContent, never as HTML. */
export function h(tag: string, attrs?: Attrs, children?: Child | Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.className = String(value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value as EventListener);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of ([] as Child[]).concat(children === undefined ? [] : children)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return "never";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 90 ? abs + " s" : abs < 5400 ? Math.round(abs / 60) + " min" : abs < 172800 ? Math.round(abs / 3600) + " h" : Math.round(abs / 86400) + " d";
  return seconds >= 0 ? text + " ago" : "in " + text;
}

export function when(iso: string | null | undefined): HTMLElement {
  return iso ? h("time", { datetime: iso, title: iso, text: ago(iso) }) : h("span", { class: "muted", text: "—" });
}

export function badge(health: string): HTMLElement {
  return h("span", { class: "badge b-" + health, "data-health": health, text: health });
}

export function short(value: unknown, max: number): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined || text === "null") return "—";
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

export function recordHref(record: RecordLink): string {
  const q = new URLSearchParams({ source: record.source, resource: record.resource, id: record.id });
  if (record.kind) q.set("kind", record.kind);
  return "#/record?" + q.toString();
}

export function table(headers: string[], rows: HTMLElement[], attrs?: Attrs): HTMLElement {
  return h("table", attrs || {}, [
    h("thead", {}, h("tr", {}, headers.map(function (name) { return h("th", { text: name }); }))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted", text: "nothing here" }))),
  ]);
}

/** The values of a filter form as a query string (empty fields left out). */
export function formQuery(form: HTMLFormElement): string {
  const q = new URLSearchParams();
  for (const [key, value] of new FormData(form).entries()) if (value) q.set(key, String(value));
  return q.toString();
}
