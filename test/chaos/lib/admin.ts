import { scanner } from "./secrets.js";

/** The daemon's admin API, metrics and UI over HTTP; every answer goes through the leak scanner. */

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export class AdminClient {
  constructor(
    readonly base: string,
    private readonly token: string | undefined,
  ) {}

  async request(method: string, path: string, options: { body?: string; headers?: Record<string, string>; auth?: boolean; timeoutMs?: number } = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
    const response = await fetch(`${this.base}${path}`, { method, headers, body: options.body, signal: AbortSignal.timeout(options.timeoutMs ?? 120_000) });
    const text = await response.text();
    const surface = path.startsWith("/metrics") ? "/metrics" : path.startsWith("/api") ? "admin API" : path === "/" || path.startsWith("/ui") || path.startsWith("/login") ? "UI pages" : "admin API";
    scanner.scan(surface, `${method} ${path}`, text);
    return { status: response.status, headers: response.headers, text };
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.request(method, path, body === undefined ? {} : { body: JSON.stringify(body) });
    if (answer.status >= 400) throw new Error(`${method} ${path}: HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
    return JSON.parse(answer.text) as T;
  }

  /** Runs a pass now and waits for its outcomes. */
  async pass(source: string, mode: "incremental" | "reconcile"): Promise<PassOutcomeView[]> {
    const result = await this.json<{ state: string; outcomes?: PassOutcomeView[] }>("POST", `/api/sources/${source}/pass`, { mode, wait: true });
    if (!result.outcomes) throw new Error(`pass of ${source} not run: ${result.state}`);
    return result.outcomes;
  }

  async cursors(source: string): Promise<Record<string, string>> {
    const view = await this.json<{ resources: Array<{ name: string; cursor: unknown }> }>("GET", `/api/sources/${source}`);
    return Object.fromEntries(view.resources.map((r) => [r.name, JSON.stringify(r.cursor)]));
  }

  async healthy(): Promise<boolean> {
    try {
      return (await this.request("GET", "/healthz", { auth: false, timeoutMs: 5000 })).status === 200;
    } catch {
      return false;
    }
  }
}

export interface PassOutcomeView {
  source: string;
  resource: string;
  mode: string;
  ok: boolean;
  blocked?: boolean;
  records: number;
  events: number;
  deleted: number;
  error?: string;
  warnings: string[];
}
