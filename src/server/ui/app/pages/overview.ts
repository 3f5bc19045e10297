import { api, button, say } from "../api.js";
import type { PassResult, ReplayResult, SeriesView, StatusView, TestResult } from "../api-types.js";
import { chartsSection } from "../charts.js";
import { ago, badge, h, short, table, when } from "../dom.js";

/** Sources with their resources, and targets, each with its actions. */
export function overview(): Promise<HTMLElement[]> {
  return Promise.all([api<StatusView>("GET", "/api/status"), api<SeriesView>("GET", "/api/series")]).then(function (answers) {
    const status = answers[0];
    const sourceRows: HTMLElement[] = [];
    for (const source of status.sources) {
      const budget = source.budget ? source.budget.used + " of " + source.budget.requests + " per " + source.budget.per : null;
      const problem = source.suspended ? "suspended: " + source.suspended.reason : source.backoff ? "backing off until " + source.backoff.until + ": " + source.backoff.reason : source.lastError ? source.lastError.message : "";
      sourceRows.push(h("tr", { class: "source", "data-source": source.name }, [
        h("td", {}, h("strong", { text: source.name })),
        h("td", {}, badge(source.health)),
        h("td", { class: "muted", text: source.type + (source.facts && source.facts.length > 0 ? " · learned: " + source.facts.map(function (f) { return f.text || f.name; }).join("; ") : "") }),
        h("td", {}, when(source.lastPassAt)),
        h("td", {}, source.running ? h("span", { text: source.running.mode + " running" }) : source.nextPass ? when(source.nextPass.incremental) : h("span", { class: "muted", text: "daemon not running" })),
        h("td", { text: budget ? "budget " + budget : "" }),
        h("td", { class: problem ? "error" : "", text: short(problem, 160) }),
        h("td", { class: "actions" }, [
          button("run pass", function () { return api<PassResult>("POST", "/api/sources/" + encodeURIComponent(source.name) + "/pass", { mode: "incremental" }).then(function (r) { say("pass of " + source.name + ": " + r.state); }); }),
          button("reconcile", function () { return api<PassResult>("POST", "/api/sources/" + encodeURIComponent(source.name) + "/pass", { mode: "reconcile" }).then(function (r) { say("reconcile of " + source.name + ": " + r.state); }); }),
        ]),
      ]));
      for (const resource of source.resources) {
        const notes: string[] = [];
        if (resource.suspended) notes.push("suspended: " + resource.suspended.reason + (resource.suspended.nextProbeAt ? "; next probe " + resource.suspended.nextProbeAt : ""));
        if (resource.heldDeletions) notes.push(resource.heldDeletions.count + " deletions held since " + resource.heldDeletions.at + " (retrohook reset --accept-deletes)");
        if (resource.awaitingConfirmation) notes.push(resource.awaitingConfirmation + " missing, awaiting the next reconcile");
        if (resource.waiting) notes.push(resource.waiting);
        if (resource.lastError) notes.push(resource.lastError.message);
        sourceRows.push(h("tr", { class: "resource", "data-resource": source.name + "/" + resource.name }, [
          h("td", { class: "indent", text: resource.name }),
          h("td", {}, badge(resource.suspended ? "suspended" : resource.lastError ? "failing" : resource.heldDeletions ? "held" : resource.initialized ? "ok" : resource.waiting ? "waiting" : "new")),
          h("td", { class: "mono", title: JSON.stringify(resource.cursor), text: "cursor " + short(resource.cursorText === undefined ? resource.cursor : resource.cursorText, 60) }),
          h("td", {}, when(resource.lastPassAt)),
          h("td", { class: "muted", text: resource.lastReconcileAt ? "reconciled " + ago(resource.lastReconcileAt) : "not reconciled yet" }),
          h("td", { text: resource.records + " records" }),
          h("td", { class: notes.length ? "error" : "", text: short(notes.join("; "), 200) }),
          h("td", {}),
        ]));
      }
    }
    const targetRows = status.targets.map(function (target) {
      const last = target.lastAttempt;
      const lastError = last && last.error && last.error !== "HTTP " + last.status ? ": " + last.error : "";
      const lastText = last ? last.outcome + (last.status ? " (HTTP " + last.status + ")" : "") + lastError : "no attempt yet";
      return h("tr", { class: "target", "data-target": target.name }, [
        h("td", {}, h("strong", { text: target.name })),
        h("td", {}, badge(target.health)),
        h("td", {}, [
          h("span", { class: "mono", text: target.url }),
          target.connection
            ? h("div", { class: target.connection.state === "connected" || target.connection.state === "idle" ? "muted" : "error", "data-connection": target.connection.state, text: connectionText(target.connection) })
            : null,
          target.filter || target.transform ? h("div", { class: "muted", "data-expressions": "", text: [target.filter ? "filter " + target.filter : "", target.transform ? "transform " + target.transform : ""].filter(Boolean).join(" · ") }) : null,
        ]),
        h("td", { "data-pending": target.pending, text: target.pending + " pending" + (target.inFlight ? ", " + target.inFlight + " in flight" : "") }),
        h("td", {}, target.oldestPending ? h("span", { text: "oldest " + target.oldestPending.ageSeconds + " s" }) : h("span", { class: "muted", text: "—" })),
        h("td", {}, target.deadLetters ? h("a", { href: "#/dead?target=" + encodeURIComponent(target.name), "data-dead": target.deadLetters, text: target.deadLetters + " dead" }) : h("span", { "data-dead": 0, class: "muted", text: "0 dead" })),
        h("td", { class: last && last.outcome !== "delivered" ? "error" : "" }, [
          last ? when(last.at) : null, " ", h("span", { text: short(lastText, 140) }),
          target.filtered ? h("div", {}, h("a", { href: "#/log?target=" + encodeURIComponent(target.name) + "&status=filtered", "data-filtered": target.filtered, text: target.filtered + " filtered out (recent log)" })) : null,
          target.paused ? h("div", { class: "muted", text: target.paused.reason + " since " + target.paused.at }) : null,
          target.breaker && target.breaker.status === "open" ? h("div", { class: "error", text: "breaker open: " + target.breaker.reason + "; next probe " + ago(target.breaker.probeAt) }) : null,
        ]),
        h("td", { class: "actions" }, [
          button("send test", function () {
            return api<TestResult>("POST", "/api/targets/" + encodeURIComponent(target.name) + "/test", {}).then(function (r) {
              say("test event to " + target.name + ": " + (r.status ? "HTTP " + r.status : r.verdict) + " in " + r.latencyMs + " ms", r.ok ? "ok" : "error");
            });
          }),
          target.paused
            ? button("resume", function () { return api("POST", "/api/targets/" + encodeURIComponent(target.name) + "/resume", {}).then(function () { say(target.name + " resumed", "ok"); }); })
            : button("pause", function () { return api("POST", "/api/targets/" + encodeURIComponent(target.name) + "/pause", {}).then(function () { say(target.name + " paused: nothing is sent until you resume it", "info"); }); }),
          target.deadLetters ? button("replay dead letters", function () {
            return api<ReplayResult>("POST", "/api/targets/" + encodeURIComponent(target.name) + "/replay", {}).then(function (r) { say(r.requeued + " dead letters of " + target.name + " queued again", "ok"); });
          }) : null,
        ]),
      ]);
    });
    return [
      h("section", {}, [h("h2", { text: "Sources" }), table(["source / resource", "status", "type / cursor", "last pass", "next pass", "budget / records", "problems", ""], sourceRows, { id: "sources" })]),
      h("section", {}, [h("h2", { text: "Targets" }), table(["target", "status", "url", "outbox", "oldest", "dead letters", "last attempt", ""], targetRows, { id: "targets" })]),
      chartsSection(answers[1]),
    ];
  });
}

function connectionText(connection: { state: string; since: string; lastError: string | null }): string {
  if (connection.state === "idle") return "not connected yet (nothing sent)";
  const text = "broker " + connection.state + " since " + connection.since;
  return connection.lastError && connection.state !== "connected" ? text + ": " + connection.lastError : text;
}
