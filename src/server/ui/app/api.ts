import { h } from "./dom.js";

/** Calls the admin API with the session cookie; a 401 reloads the page (to the sign-in form). */
export function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const init: RequestInit = { method: method, credentials: "same-origin", headers: headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(path, init).then(function (response) {
    if (response.status === 401) {
      location.reload();
      throw new Error("sign-in needed");
    }
    return response.json().catch(function () { return {}; }).then(function (data: { error?: string }) {
      if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
      return data as T;
    });
  });
}

let flashTimer: ReturnType<typeof setTimeout> | undefined;

/** A message above the page for eight seconds. */
export function say(message: string, kind?: "info" | "ok" | "error"): void {
  const flash = document.getElementById("flash")!;
  flash.replaceChildren(h("div", { class: "flash " + (kind || "info"), text: message }));
  clearTimeout(flashTimer);
  flashTimer = setTimeout(function () { flash.replaceChildren(); }, 8000);
}

let afterAction: () => unknown = function () {};

/** What runs after every button's action (the page's refresh). */
export function onActionDone(refresh: () => unknown): void {
  afterAction = refresh;
}

/** A button that runs `action`, is disabled meanwhile, says when it failed, then refreshes the page. */
export function button(label: string, action: () => unknown, attrs?: Record<string, unknown>): HTMLElement {
  return h("button", Object.assign({ type: "button", onclick: function (event: Event) {
    const el = event.currentTarget as HTMLButtonElement;
    el.disabled = true;
    Promise.resolve().then(action).catch(function (error: Error) { say(label + " failed: " + error.message, "error"); }).finally(function () {
      el.disabled = false;
      afterAction();
    });
  } }, attrs || {}), label);
}
