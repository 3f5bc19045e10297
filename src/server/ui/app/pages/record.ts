import { api } from "../api.js";
import type { RecordView, StatusView } from "../api-types.js";
import { formQuery, h, short, table, when } from "../dom.js";

/** One record: a form to pick it, its snapshot and its events with their deliveries. */
export function recordPage(params: URLSearchParams): Promise<HTMLElement[]> {
  return api<StatusView>("GET", "/api/status").then(function (status) {
    const form = h("form", { class: "filters", onsubmit: function (event: Event) {
      event.preventDefault();
      location.hash = "#/record?" + formQuery(form as HTMLFormElement);
    } }, [
      h("label", {}, ["source ", h("select", { name: "source" }, status.sources.map(function (s) { return h("option", { value: s.name, selected: params.get("source") === s.name, text: s.name }); }))]),
      h("label", {}, ["resource ", h("input", { name: "resource", value: params.get("resource") || "", list: "resources" })]),
      h("datalist", { id: "resources" }, status.sources.flatMap(function (s) { return s.resources.map(function (r) { return h("option", { value: r.name }); }); })),
      h("label", {}, ["kind ", h("input", { name: "kind", value: params.get("kind") || "", placeholder: "only for merged resources" })]),
      h("label", {}, ["id ", h("input", { name: "id", value: params.get("id") || "" })]),
      h("button", { type: "submit", text: "show" }),
    ]);
    const parts: HTMLElement[] = [h("h2", { text: "Record" }), form];
    if (!params.get("source") || !params.get("resource") || !params.get("id")) return parts;
    return api<RecordView>("GET", "/api/records?" + params.toString()).then(function (record) {
      parts.push(h("h3", { text: record.source + "/" + record.resource + "/" + (record.kind ? record.kind + ":" : "") + record.id }));
      parts.push(record.snapshot
        ? h("div", {}, [h("p", { class: "muted", text: "snapshot version " + record.snapshot.version + (record.snapshot.gone ? " (deleted)" : "") }), record.snapshot.object ? h("pre", { text: JSON.stringify(record.snapshot.object, null, 2) }) : null])
        : h("p", { class: "muted", text: "no snapshot: retrohook has not seen this record" }));
      parts.push(h("h3", { text: "Events" }));
      parts.push(table(["detected", "type", "event id", "changed", "deliveries"], record.events.map(function (event) {
        return h("tr", {}, [
          h("td", {}, when(event.detected_at)),
          h("td", { text: event.type }),
          h("td", {}, h("a", { class: "mono", href: "#/event/" + encodeURIComponent(event.id), text: short(event.id, 18) })),
          h("td", { class: "mono", text: event.previous ? short(Object.keys(event.previous).join(", "), 80) : "—" }),
          h("td", { text: event.deliveries.map(function (d) { return d.target + " #" + d.attempt + " " + d.outcome + (d.status ? " " + d.status : ""); }).concat(event.pending.map(function (t) { return t + " pending"; }), event.deadLetters.map(function (t) { return t + " dead"; })).join("; ") || "—" }),
        ]);
      })));
      return parts;
    });
  });
}
