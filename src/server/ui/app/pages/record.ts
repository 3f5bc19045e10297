import { api } from "../api.js";
import type { ExplainAttempt, ExplainedEvent, ExplainResult, StatusView, TimelineItem } from "../api-types.js";
import { badge, formQuery, h, short } from "../dom.js";

/**
 * One record, as `retrohook explain` tells it (GET /api/explain): its snapshot, its timeline —
 * every pass in the journal that saw it, every event minted with why, the fields that changed,
 * the rules that did not fire, each target it was routed to or not and each delivery attempt —
 * then why an expected event did not fire.
 */
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
    const q = new URLSearchParams();
    for (const key of ["source", "resource", "id", "kind"]) if (params.get(key)) q.set(key, params.get(key)!);
    return api<ExplainResult>("GET", "/api/explain?" + q.toString()).then(function (view) {
      return parts.concat(explained(view, params.get("event")));
    });
  });
}

function explained(view: ExplainResult, focus: string | null): HTMLElement[] {
  const r = view.record;
  const seen = [view.firstSeen ? "first seen " + view.firstSeen : "", view.lastSeen ? "last seen " + view.lastSeen : ""].filter(Boolean).join(" · ");
  return [
    h("h3", { id: "record-name", "data-state": r.state }, [r.source + "/" + r.resource + "/" + (r.kind ? r.kind + ":" : "") + r.id + " ", badge(r.state === "unknown" ? "new" : r.state === "live" ? "ok" : "dead"), " ", h("span", { class: "muted", text: (r.state === "unknown" ? "not in state" : r.state + ", version " + r.version) + (seen ? " · " + seen : "") })]),
    r.object ? h("details", {}, [h("summary", { text: "snapshot" }), h("pre", { text: JSON.stringify(r.object, null, 2) })]) : h("p", { class: "muted", text: r.state === "deleted" ? "deleted: only its tombstone is kept" : "no snapshot: retrohook has not recorded this record" }),
    h("h3", { text: "Timeline" }),
    view.timeline.length
      ? h("ol", { id: "timeline", class: "timeline" }, view.timeline.map(function (item) { return timelineItem(item, focus || view.focus || null); }))
      : h("p", { id: "timeline", class: "muted", text: "nothing in the pass journal or the event log for this record" }),
    h("h3", { text: "Why not" }),
    view.whyNot.length
      ? h("ul", { id: "why-not" }, view.whyNot.map(function (w) { return h("li", { "data-reason": w.reason }, [h("code", { text: w.reason }), " ", w.text]); }))
      : h("p", { id: "why-not", class: "muted", text: "nothing held back: every change seen became an event" }),
    h("p", { class: "muted", text: "pass journal: " + view.journal.passes + " passes" + (view.journal.since ? " since " + view.journal.since : "") }),
  ];
}

function timelineItem(item: TimelineItem, focus: string | null): HTMLElement {
  if (item.kind === "pass") {
    const what = item.saw === "listed" ? "listed it" : "complete listing";
    return h("li", { class: "pass" + (item.ok ? "" : " failed"), "data-kind": "pass", "data-mode": item.mode }, [
      h("time", { datetime: item.at, text: item.at }), " ",
      h("strong", { text: "pass " + item.mode }), " (" + what + (item.firstRun ? ", first pass: baseline" : "") + ")",
      item.ok ? null : h("span", { class: "error", text: " failed: " + (item.error || "") }),
      item.ignoredFields ? h("div", { class: "muted", "data-ignored": "", text: "only ignore_fields changed (" + item.ignoredFields.join(", ") + "): no event" }) : null,
    ]);
  }
  return eventItem(item.event, focus);
}

function eventItem(event: ExplainedEvent, focus: string | null): HTMLElement {
  const attrs = { class: "event" + (event.id === focus ? " focus" : ""), "data-kind": "event", "data-event": event.id, "data-type": event.type || "" };
  if (event.pruned) return h("li", attrs, [h("span", { class: "muted", text: "(pruned) " }), "event " + event.id + ": pruned by state.retention.events, its body and deliveries are no longer kept"]);
  return h("li", attrs, [
    h("time", { datetime: event.detectedAt || "", text: event.detectedAt || "" }), " ",
    h("strong", { text: event.type || "" }), " ",
    h("a", { class: "mono", href: "#/event/" + encodeURIComponent(event.id), text: short(event.id, 24) }),
    h("div", { class: "why", text: "why: " + event.why }),
    event.changes.length
      ? h("table", { class: "changes" }, [h("thead", {}, h("tr", {}, [h("th", { text: "field" }), h("th", { text: "before" }), h("th", { text: "after" })])), h("tbody", {}, event.changes.map(function (c) {
        return h("tr", { "data-field": c.field }, [h("td", { class: "mono", text: c.field }), h("td", { class: "mono", text: JSON.stringify(c.before) }), h("td", { class: "mono", text: JSON.stringify(c.after) })]);
      }))])
      : null,
    ...event.notFired.map(function (miss) { return h("div", { class: "not-fired", "data-rule": miss.event, text: miss.text }); }),
    h("ul", { class: "routing" }, event.routing.map(function (route) {
      const attempts = event.attempts.filter(function (a) { return a.target === route.target; });
      const pending = event.pending.find(function (p) { return p.target === route.target; });
      const dead = event.deadLetters.find(function (d) { return d.target === route.target; });
      return h("li", { "data-target": route.target, "data-routed": String(route.routed) }, [
        h("strong", { text: "→ " + route.target }), ": ", h("span", { class: route.routed ? "" : "muted", text: route.why }),
        attempts.length ? h("ul", { class: "attempts" }, attempts.map(attemptItem)) : null,
        pending ? h("div", { "data-pending": "", text: "pending: next attempt " + pending.nextAttemptAt + (pending.lastError ? " (last error: " + pending.lastError + ")" : "") }) : null,
        dead ? h("div", { class: "error", "data-dead": "", text: "dead letter since " + dead.at + ": " + dead.reason }) : null,
      ]);
    })),
  ]);
}

function attemptItem(a: ExplainAttempt): HTMLElement {
  return h("li", { "data-attempt": a.attempt, "data-outcome": a.outcome }, [
    h("time", { datetime: a.at, text: a.at }), " attempt " + a.attempt + " ", badge(a.outcome),
    (a.status !== undefined ? " HTTP " + a.status : "") + (a.latencyMs !== undefined ? " (" + a.latencyMs + " ms)" : ""),
    a.error ? h("span", { class: "error", text: " — " + a.error }) : null,
  ]);
}
