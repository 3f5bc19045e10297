/**
 * The web UI's script, served as /ui/app.js. Plain browser JavaScript (no build step), kept in
 * a TS module so `tsc` ships it in dist/. It must not contain backticks, "${" or backslashes.
 */
export const APP_JS = `"use strict";
// retrohook web UI: plain DOM, no framework, no build step. Every text goes in via textContent.
(function () {
  const main = document.getElementById("main");
  const flash = document.getElementById("flash");
  const updated = document.getElementById("updated");
  const REFRESH_MS = 3000;
  let refreshTimer = null;
  let current = null;
  const expanded = new Set();

  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") el.textContent = String(value);
      else if (key === "class") el.className = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of [].concat(children === undefined ? [] : children)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function api(method, path, body) {
    const init = { method: method, credentials: "same-origin", headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      if (response.status === 401) {
        location.reload();
        throw new Error("sign-in needed");
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
        return data;
      });
    });
  }

  function say(message, kind) {
    flash.replaceChildren(h("div", { class: "flash " + (kind || "info"), text: message }));
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { flash.replaceChildren(); }, 8000);
  }

  function ago(iso) {
    if (!iso) return "never";
    const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
    const abs = Math.abs(seconds);
    const text = abs < 90 ? abs + " s" : abs < 5400 ? Math.round(abs / 60) + " min" : abs < 172800 ? Math.round(abs / 3600) + " h" : Math.round(abs / 86400) + " d";
    return seconds >= 0 ? text + " ago" : "in " + text;
  }

  function when(iso) {
    return iso ? h("time", { datetime: iso, title: iso, text: ago(iso) }) : h("span", { class: "muted", text: "—" });
  }

  function badge(health) {
    return h("span", { class: "badge b-" + health, "data-health": health, text: health });
  }

  function short(value, max) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (text === undefined || text === "null") return "—";
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function button(label, action, attrs) {
    return h("button", Object.assign({ type: "button", onclick: function (event) {
      const el = event.currentTarget;
      el.disabled = true;
      Promise.resolve().then(action).catch(function (error) { say(label + " failed: " + error.message, "error"); }).finally(function () {
        el.disabled = false;
        refresh();
      });
    } }, attrs || {}), label);
  }

  function recordHref(record) {
    const q = new URLSearchParams({ source: record.source, resource: record.resource, id: record.id });
    if (record.kind) q.set("kind", record.kind);
    return "#/record?" + q.toString();
  }

  function table(headers, rows, attrs) {
    return h("table", attrs || {}, [
      h("thead", {}, h("tr", {}, headers.map(function (name) { return h("th", { text: name }); }))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted", text: "nothing here" }))),
    ]);
  }

  // ---- overview ----

  function overview() {
    return api("GET", "/api/status").then(function (status) {
      const sourceRows = [];
      for (const source of status.sources) {
        const budget = source.budget ? source.budget.used + " of " + source.budget.requests + " per " + source.budget.per : null;
        const problem = source.suspended ? "suspended: " + source.suspended.reason : source.backoff ? "backing off until " + source.backoff.until + ": " + source.backoff.reason : source.lastError ? source.lastError.message : "";
        sourceRows.push(h("tr", { class: "source", "data-source": source.name }, [
          h("td", {}, h("strong", { text: source.name })),
          h("td", {}, badge(source.health)),
          h("td", { class: "muted", text: source.type + (source.facts && source.facts.length > 0 ? " · learned " + source.facts.map(function (f) { return f.name; }).join(", ") : "") }),
          h("td", {}, when(source.lastPassAt)),
          h("td", {}, source.running ? h("span", { text: source.running.mode + " running" }) : source.nextPass ? when(source.nextPass.incremental) : h("span", { class: "muted", text: "daemon not running" })),
          h("td", { text: budget ? "budget " + budget : "" }),
          h("td", { class: problem ? "error" : "", text: short(problem, 160) }),
          h("td", { class: "actions" }, [
            button("run pass", function () { return api("POST", "/api/sources/" + encodeURIComponent(source.name) + "/pass", { mode: "incremental" }).then(function (r) { say("pass of " + source.name + ": " + r.state); }); }),
            button("reconcile", function () { return api("POST", "/api/sources/" + encodeURIComponent(source.name) + "/pass", { mode: "reconcile" }).then(function (r) { say("reconcile of " + source.name + ": " + r.state); }); }),
          ]),
        ]));
        for (const resource of source.resources) {
          const notes = [];
          if (resource.suspended) notes.push("suspended: " + resource.suspended.reason);
          if (resource.heldDeletions) notes.push(resource.heldDeletions.count + " deletions held since " + resource.heldDeletions.at + " (retrohook reset --accept-deletes)");
          if (resource.awaitingConfirmation) notes.push(resource.awaitingConfirmation + " missing, awaiting the next reconcile");
          if (resource.waiting) notes.push(resource.waiting);
          if (resource.lastError) notes.push(resource.lastError.message);
          sourceRows.push(h("tr", { class: "resource", "data-resource": source.name + "/" + resource.name }, [
            h("td", { class: "indent", text: resource.name }),
            h("td", {}, badge(resource.suspended ? "suspended" : resource.lastError ? "failing" : resource.heldDeletions ? "held" : resource.initialized ? "ok" : resource.waiting ? "waiting" : "new")),
            h("td", { class: "mono", title: JSON.stringify(resource.cursor), text: "cursor " + short(resource.cursor, 40) }),
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
              return api("POST", "/api/targets/" + encodeURIComponent(target.name) + "/test", {}).then(function (r) {
                say("test event to " + target.name + ": " + (r.status ? "HTTP " + r.status : r.verdict) + " in " + r.latencyMs + " ms", r.ok ? "ok" : "error");
              });
            }),
            target.paused
              ? button("resume", function () { return api("POST", "/api/targets/" + encodeURIComponent(target.name) + "/resume", {}).then(function () { say(target.name + " resumed", "ok"); }); })
              : button("pause", function () { return api("POST", "/api/targets/" + encodeURIComponent(target.name) + "/pause", {}).then(function () { say(target.name + " paused: nothing is sent until you resume it", "info"); }); }),
            target.deadLetters ? button("replay dead letters", function () {
              return api("POST", "/api/targets/" + encodeURIComponent(target.name) + "/replay", {}).then(function (r) { say(r.requeued + " dead letters of " + target.name + " queued again", "ok"); });
            }) : null,
          ]),
        ]);
      });
      return [
        h("section", {}, [h("h2", { text: "Sources" }), table(["source / resource", "status", "type / cursor", "last pass", "next pass", "budget / records", "problems", ""], sourceRows, { id: "sources" })]),
        h("section", {}, [h("h2", { text: "Targets" }), table(["target", "status", "url", "outbox", "oldest", "dead letters", "last attempt", ""], targetRows, { id: "targets" })]),
      ];
    });
  }

  // ---- delivery log ----

  function logFilters(params, targets) {
    const form = h("form", { class: "filters", onsubmit: function (event) {
      event.preventDefault();
      const q = new URLSearchParams();
      for (const [key, value] of new FormData(form).entries()) if (value) q.set(key, String(value));
      location.hash = "#/log?" + q.toString();
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

  function deliveryLog(params) {
    const q = new URLSearchParams(params);
    q.set("limit", "200");
    return Promise.all([api("GET", "/api/log?" + q.toString()), api("GET", "/api/targets")]).then(function (results) {
      const entries = results[0];
      const rows = [];
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
          h("td", {}, h("a", { href: recordHref(entry.record), text: entry.record.label, onclick: function (e) { e.stopPropagation(); } })),
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

  // ---- dead letters ----

  function deadLetters(params) {
    const target = params.get("target");
    return api("GET", "/api/dead-letters" + (target ? "?target=" + encodeURIComponent(target) : "")).then(function (rows) {
      const targets = Array.from(new Set(rows.map(function (r) { return r.target; })));
      return [
        h("h2", { text: "Dead letters" + (target ? " of " + target : "") }),
        h("p", { class: "actions" }, targets.map(function (name) {
          return button("replay all of " + name, function () {
            return api("POST", "/api/targets/" + encodeURIComponent(name) + "/replay", {}).then(function (r) { say(r.requeued + " dead letters of " + name + " queued again", "ok"); });
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
              return api("POST", "/api/events/" + encodeURIComponent(row.eventId) + "/replay", { target: row.target }).then(function (r) { say("event " + row.eventId + " queued again for " + r.targets.join(", "), "ok"); });
            })),
          ]);
        }), { id: "dead-letters" }),
      ];
    });
  }

  // ---- one record, one event ----

  function recordPage(params) {
    return api("GET", "/api/status").then(function (status) {
      const form = h("form", { class: "filters", onsubmit: function (event) {
        event.preventDefault();
        const q = new URLSearchParams();
        for (const [key, value] of new FormData(form).entries()) if (value) q.set(key, String(value));
        location.hash = "#/record?" + q.toString();
      } }, [
        h("label", {}, ["source ", h("select", { name: "source" }, status.sources.map(function (s) { return h("option", { value: s.name, selected: params.get("source") === s.name, text: s.name }); }))]),
        h("label", {}, ["resource ", h("input", { name: "resource", value: params.get("resource") || "", list: "resources" })]),
        h("datalist", { id: "resources" }, status.sources.flatMap(function (s) { return s.resources.map(function (r) { return h("option", { value: r.name }); }); })),
        h("label", {}, ["kind ", h("input", { name: "kind", value: params.get("kind") || "", placeholder: "only for merged resources" })]),
        h("label", {}, ["id ", h("input", { name: "id", value: params.get("id") || "" })]),
        h("button", { type: "submit", text: "show" }),
      ]);
      const parts = [h("h2", { text: "Record" }), form];
      if (!params.get("source") || !params.get("resource") || !params.get("id")) return parts;
      return api("GET", "/api/records?" + params.toString()).then(function (record) {
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

  function eventPage(id) {
    return api("GET", "/api/events/" + encodeURIComponent(id)).then(function (result) {
      return [
        h("h2", { text: "Event " + id }),
        h("p", { class: "actions" }, button("replay", function () {
          return api("POST", "/api/events/" + encodeURIComponent(id) + "/replay", {}).then(function (r) { say("queued again for " + r.targets.join(", "), "ok"); });
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

  // ---- routing and refresh ----

  function route() {
    const hash = location.hash.replace(/^#/, "") || "/";
    const at = hash.indexOf("?");
    const path = at < 0 ? hash : hash.slice(0, at);
    const params = new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
    if (path === "/log") return { name: "log", render: function () { return deliveryLog(params); } };
    if (path === "/dead") return { name: "dead", render: function () { return deadLetters(params); } };
    if (path === "/record") return { name: "record", render: function () { return recordPage(params); }, still: true };
    if (path.startsWith("/event/")) return { name: "event", render: function () { return eventPage(decodeURIComponent(path.slice(7))); } };
    return { name: "overview", render: overview };
  }

  function refresh() {
    const page = current;
    if (!page) return Promise.resolve();
    return page.render().then(function (nodes) {
      if (page !== current) return;
      const focused = document.activeElement && main.contains(document.activeElement) && document.activeElement.matches("input, select");
      if (focused && page.rendered) return;
      main.replaceChildren.apply(main, [].concat(nodes));
      page.rendered = true;
      updated.textContent = "updated " + new Date().toLocaleTimeString();
      document.body.dataset.page = page.name;
    }).catch(function (error) {
      if (page === current) main.replaceChildren(h("p", { class: "flash error", text: error.message }));
    });
  }

  function navigate() {
    current = route();
    for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.getAttribute("data-page") === current.name);
    clearInterval(refreshTimer);
    refresh();
    if (!current.still) refreshTimer = setInterval(refresh, REFRESH_MS);
  }

  window.addEventListener("hashchange", navigate);
  navigate();
})();
`;
