import { api, button, say } from "../api.js";
import type { EventDetail, ReplayResult } from "../api-types.js";
import { badge, h, table, when } from "../dom.js";

/** One event: its body, its attempts, where it is still pending, and a replay. */
export function eventPage(id: string): Promise<Array<HTMLElement | null>> {
  return api<EventDetail>("GET", "/api/events/" + encodeURIComponent(id)).then(function (result) {
    return [
      h("h2", { text: "Event " + id }),
      h("p", { class: "actions" }, button("replay", function () {
        return api<ReplayResult>("POST", "/api/events/" + encodeURIComponent(id) + "/replay", {}).then(function (r) { say("queued again for " + r.targets.join(", "), "ok"); });
      })),
      h("pre", { text: JSON.stringify(result.event, null, 2) }),
      h("h3", { text: "Attempts" }),
      table(["at", "target", "attempt", "outcome", "HTTP", "latency", "error"], result.deliveries.map(function (d) {
        return h("tr", {}, [h("td", {}, when(d.at)), h("td", { text: d.target }), h("td", { text: "#" + d.attempt }), h("td", {}, badge(d.outcome)), h("td", { text: d.status === undefined ? "—" : d.status }), h("td", { text: d.latencyMs + " ms" }), h("td", { class: d.error ? "error" : "", text: d.error || "" })]);
      })),
      result.pending.length ? h("p", { text: "pending for " + result.pending.map(function (p) { return p.target + " (next attempt " + p.nextAttemptAt + ")"; }).join(", ") }) : null,
    ];
  });
}
