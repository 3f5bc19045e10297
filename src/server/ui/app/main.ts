// retrohook web UI: plain DOM, no framework. Every text goes in via textContent.
// Bundled into one script (/ui/app.js) by esbuild: see ../bundle.ts.
import { onActionDone } from "./api.js";
import { h } from "./dom.js";
import { deadLetters } from "./pages/dead-letters.js";
import { deliveryLog } from "./pages/delivery-log.js";
import { eventPage } from "./pages/event.js";
import { overview } from "./pages/overview.js";
import { recordPage } from "./pages/record.js";

const main = document.getElementById("main")!;
const updated = document.getElementById("updated")!;
const REFRESH_MS = 3000;

interface Page {
  name: string;
  render: () => Promise<Array<HTMLElement | null>>;
  /** No periodic refresh (a form the operator fills in). */
  still?: boolean;
  rendered?: boolean;
}

let refreshTimer: ReturnType<typeof setInterval> | undefined;
let current: Page | null = null;

function route(): Page {
  const hash = location.hash.replace(/^#/, "") || "/";
  const at = hash.indexOf("?");
  const path = at < 0 ? hash : hash.slice(0, at);
  const params = new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
  if (path === "/log") return { name: "log", render: function () { return deliveryLog(params, refresh); } };
  if (path === "/dead") return { name: "dead", render: function () { return deadLetters(params); } };
  if (path === "/record") return { name: "record", render: function () { return recordPage(params); }, still: true };
  if (path.startsWith("/event/")) return { name: "event", render: function () { return eventPage(decodeURIComponent(path.slice(7))); } };
  return { name: "overview", render: overview };
}

function refresh(): Promise<void> {
  const page = current;
  if (!page) return Promise.resolve();
  return page.render().then(function (nodes) {
    if (page !== current) return;
    const active = document.activeElement;
    const focused = active && main.contains(active) && active.matches("input, select");
    if (focused && page.rendered) return;
    main.replaceChildren(...(nodes as Array<Node | string>));
    page.rendered = true;
    updated.textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.page = page.name;
  }).catch(function (error: Error) {
    if (page === current) main.replaceChildren(h("p", { class: "flash error", text: error.message }));
  });
}

function navigate(): void {
  current = route();
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.getAttribute("data-page") === current.name);
  clearInterval(refreshTimer);
  refresh();
  if (!current.still) refreshTimer = setInterval(refresh, REFRESH_MS);
}

onActionDone(refresh);
window.addEventListener("hashchange", navigate);
navigate();
