import { api } from "../api.js";
import type { LogEntryView, TargetView } from "../api-types.js";
import { badge, formQuery, h, recordHref, short, table, when } from "../dom.js";

/** Attempts opened by a click (kept across refreshes). */
const expanded = new Set<string>();

function logFilters(params: URLSearchParams, targets: string[]): HTMLElement {
  const form = h("form", { class: "filters", onsubmit: function (event: Event) {
    event.preventDefault();
    location.hash = "#/log?" + formQuery(form as HTMLFormElement);
  } }, [
    h("label", {}, ["target ", h("select", { name: "target" }, [h("option", { value: "", text: "all" })].concat(targets.map(function (name) {
      return h("option", { value: name, selected: params.get("target") === name, text: name });
    })))]),
    h("label", {}, ["type ", h("input", { name: "type", placeholder: "item.* or item.paid", value: params.get("type") || "" })]),
    h("label", {}, ["status ", h("select", { name: "status" }, ["", "delivered", "retry", "dead", "failed", "filtered"].map(function (value) {
      return h("option", { value: value, selected: (params.get("status") || "") === value, text: value || "any" });
    }))]),
    h("label", {}, ["record ", h("input", { name: "record", placeholder: "id or source/resource/id", value: params.get("record") || "" })]),
    h("button", { type: "submit", text: "filter" }),
  ]);
  return form;
}

/** The delivery log, filtered; a click on an attempt shows its request and response. */
export function deliveryLog(params: URLSearchParams, refresh: () => unknown): Promise<HTMLElement[]> {
  const q = new URLSearchParams(params);
  q.set("limit", "200");
  return Promise.all([api<LogEntryView[]>("GET", "/api/log?" + q.toString()), api<TargetView[]>("GET", "/api/targets")]).then(function (results) {
    const entries = results[0];
    const rows: HTMLElement[] = [];
    for (const entry of entries) {
      const key = entry.target + "/" + entry.eventId + "/" + entry.attempt + "/" + entry.at;
      const open = expanded.has(key);
      rows.push(h("tr", { class: "clickable outcome-" + entry.outcome, onclick: function () {
        if (expanded.has(key)) expanded.delete(key); else expanded.add(key);
        refresh();
      } }, [
        h("td", {}, when(entry.at)),
        h("td", { text: entry.target }),
        h("td", { text: entry.eventType }),
        h("td", {}, h("a", { href: recordHref(entry.record), text: entry.record.label, onclick: function (e: Event) { e.stopPropagation(); } })),
        h("td", { text: "#" + entry.attempt }),
        h("td", {}, badge(entry.outcome)),
        h("td", { text: entry.status === undefined ? "—" : entry.status }),
        h("td", { text: entry.latencyMs + " ms" }),
        h("td", { class: entry.error ? "error" : "", text: short(entry.error || "", 100) }),
      ]));
      if (open) {
        rows.push(h("tr", { class: "detail" }, h("td", { colspan: 9 }, h("div", { class: "attempt" }, [
          h("div", {}, [h("h3", { text: "Request" }), h("dl", {}, [
            h("dt", { text: "POST" }), h("dd", { class: "mono", text: entry.request.url }),
            h("dt", { text: "format" }), h("dd", { text: entry.request.format }),
            h("dt", { text: "webhook-id" }), h("dd", {}, h("a", { href: "#/event/" + encodeURIComponent(entry.eventId), class: "mono", text: entry.eventId })),
            h("dt", { text: "type" }), h("dd", { text: entry.eventType }),
            h("dt", { text: "attempt" }), h("dd", { text: String(entry.attempt) }),
          ])]),
          h("div", {}, [h("h3", { text: "Response" }), h("dl", {}, [
            h("dt", { text: "status" }), h("dd", { text: entry.status === undefined ? "no response" : "HTTP " + entry.status }),
            h("dt", { text: "latency" }), h("dd", { text: entry.latencyMs + " ms" }),
            h("dt", { text: "outcome" }), h("dd", { text: entry.outcome }),
            h("dt", { text: "error" }), h("dd", { text: entry.error || "—" }),
            entry.responseBody ? h("dt", { text: "body" }) : null, entry.responseBody ? h("dd", {}, h("pre", { text: entry.responseBody })) : null,
          ])]),
        ]))));
      }
    }
    return [
      h("h2", { text: "Delivery log" }),
      logFilters(params, results[1].map(function (t) { return t.name; })),
      table(["at", "target", "event", "record", "attempt", "outcome", "HTTP", "latency", "error"], rows, { id: "log" }),
      h("p", { class: "muted", text: "Click an attempt for its request and response. Newest first; the log keeps the last 1,000 attempts per target." }),
    ];
  });
}
