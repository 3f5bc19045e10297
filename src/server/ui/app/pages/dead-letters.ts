import { api, button, say } from "../api.js";
import type { DeadLetterView, ReplayResult } from "../api-types.js";
import { h, recordHref, short, table, when } from "../dom.js";

/** Dead letters (of one target with ?target=), each with its last response and a replay. */
export function deadLetters(params: URLSearchParams): Promise<HTMLElement[]> {
  const target = params.get("target");
  return api<DeadLetterView[]>("GET", "/api/dead-letters" + (target ? "?target=" + encodeURIComponent(target) : "")).then(function (rows) {
    const targets = Array.from(new Set(rows.map(function (r) { return r.target; })));
    return [
      h("h2", { text: "Dead letters" + (target ? " of " + target : "") }),
      h("p", { class: "actions" }, targets.map(function (name) {
        return button("replay all of " + name, function () {
          return api<ReplayResult>("POST", "/api/targets/" + encodeURIComponent(name) + "/replay", {}).then(function (r) { say(r.requeued + " dead letters of " + name + " queued again", "ok"); });
        });
      })),
      table(["dead since", "target", "event", "record", "attempts", "reason", "last response", ""], rows.map(function (row) {
        const response = row.response ? (row.response.status ? "HTTP " + row.response.status + " " : "") + (row.response.body || "") : "—";
        return h("tr", { class: "dead", "data-event": row.eventId, "data-target": row.target }, [
          h("td", {}, when(row.at)),
          h("td", { text: row.target }),
          h("td", {}, [h("a", { href: "#/event/" + encodeURIComponent(row.eventId), class: "mono", text: short(row.eventId, 18) }), " ", h("span", { text: row.eventType || "" })]),
          h("td", {}, h("a", { href: recordHref(row.record), text: row.record.label })),
          h("td", { text: String(row.attempts) }),
          h("td", { class: "error", text: short(row.reason, 160) }),
          h("td", { class: "mono", text: short(response, 120) }),
          h("td", {}, button("replay", function () {
            return api<ReplayResult>("POST", "/api/events/" + encodeURIComponent(row.eventId) + "/replay", { target: row.target }).then(function (r) { say("event " + row.eventId + " queued again for " + r.targets.join(", "), "ok"); });
          })),
        ]);
      }), { id: "dead-letters" }),
    ];
  });
}
