import type { FakeRequest, FakeResponse } from "../../../src/simulators/kit.js";

/**
 * ApiController::run in order: API disabled (409), CORS preflight, IP ban (429), token (401),
 * permission on the resource (403), API version (400). Each 401/403 records an incident for the
 * client IP; 5 incidents younger than 600 s ban the IP for every request, valid key or not, with
 * no Retry-After. Every client of the fake is 127.0.0.1.
 */

export type ApiMethod = "get" | "post" | "put" | "delete";

export interface ApiKeyGrant {
  fullaccess?: boolean;
  allow?: Record<string, ApiMethod[]>;
}

export const INCIDENT_EXPIRATION_MS = 600_000;
export const MAX_INCIDENT_COUNT = 5;
export const API_VERSION = "3";

export const MESSAGES = {
  disabled: "API desactivada. Puede activarla desde el panel de control",
  banned: "Por motivos de seguridad se ha bloqueado durante 10 minutos el acceso desde su IP.",
  invalidToken: "Clave de API no válida",
  forbidden: "forbidden",
  missingVersion: "Versión de API no encontrada",
  invalidVersion: "api-version-invalid",
  invalidResource: "invalid API resource",
} as const;

export const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PUT, DELETE, PATCH, OPTIONS",
};

function gatekeeperError(status: number, message: string): FakeResponse {
  return { status, body: { status: "error", message } };
}

function methodOf(method: string): ApiMethod | undefined {
  switch (method) {
    case "GET":
      return "get";
    case "POST":
      return "post";
    case "PUT":
    case "PATCH":
      return "put";
    case "DELETE":
      return "delete";
    default:
      return undefined;
  }
}

export interface GatekeeperOptions {
  keys: Record<string, ApiKeyGrant>;
  now: () => number;
  disabled: () => boolean;
}

export class Gatekeeper {
  private incidentTimes: number[] = [];

  constructor(private readonly options: GatekeeperOptions) {}

  /** Incidents of 127.0.0.1 younger than 600 s. */
  incidents(): number {
    const now = this.options.now();
    this.incidentTimes = this.incidentTimes.filter((at) => now - at < INCIDENT_EXPIRATION_MS);
    return this.incidentTimes.length;
  }

  /** A refusal, or undefined when the request may reach the resource. `segments` = path split on "/" without the leading one. */
  check(request: FakeRequest, segments: string[]): FakeResponse | undefined {
    if (this.options.disabled()) return gatekeeperError(409, MESSAGES.disabled);
    if (request.method === "OPTIONS") {
      const allowHeaders = request.headers["access-control-request-headers"];
      return { status: 200, headers: { ...CORS_HEADERS, "access-control-allow-headers": typeof allowHeaders === "string" ? allowHeaders : "", "content-type": "application/json" }, body: "" };
    }
    if (this.incidents() >= MAX_INCIDENT_COUNT) return gatekeeperError(429, MESSAGES.banned);

    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const token = header("x-auth-token") ?? header("token") ?? "";
    const grant = token === "" ? undefined : this.options.keys[token];
    if (!grant) {
      this.incidentTimes.push(this.options.now());
      return gatekeeperError(401, MESSAGES.invalidToken);
    }
    const resource = segments[2] ?? "";
    if (resource !== "" && grant.fullaccess !== true) {
      const method = methodOf(request.method);
      if (!method || !(grant.allow?.[resource] ?? []).includes(method)) {
        this.incidentTimes.push(this.options.now());
        return gatekeeperError(403, MESSAGES.forbidden);
      }
    }
    const version = segments[1] ?? "";
    if (version === "") return gatekeeperError(400, MESSAGES.missingVersion);
    // PHP's loose `!=`: "3", "03" and "3.0" all equal 3
    if (!/^\d+(\.\d+)?$/.test(version) || Number(version) !== Number(API_VERSION)) return gatekeeperError(400, MESSAGES.invalidVersion);
    return undefined;
  }
}
