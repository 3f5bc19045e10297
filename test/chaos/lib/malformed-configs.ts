import { SECRETS } from "./secrets.js";

/**
 * Malformed configs as users get them wrong: YAML syntax, unknown keys, wrong types, bad
 * values, missing secrets, cross-references, and hostile files (huge, deeply nested, alias
 * bombs, binary). Each must give exit 2 and a message naming the file and the place (a config
 * path or a line), and never a secret or a stack trace. Secrets are the run's distinctive ones.
 */
export interface MalformedConfig {
  name: string;
  yaml: string;
  /** Text the message must contain to name the place. */
  path: string;
}

const S = SECRETS.fakturowniaToken;
const fakturownia = (extra = "", name = "f"): string => `  - name: ${name}\n    preset: fakturownia\n    domain: acme\n    api_token: ${S}\n${extra}`;
const sources = (...items: string[]): string => `sources:\n${items.join("")}`;
const rest = (resources: string, extra = ""): string =>
  `  - name: legacy\n    type: rest\n    base_url: https://legacy.example/api\n    headers: { Authorization: "Bearer ${SECRETS.restToken}" }\n${extra}    resources:\n${resources}`;
const target = (fields: string): string => `targets:\n  - { name: erp, url: "https://erp.example/hooks", secret: ${SECRETS.webhookSecret}, ${fields} }\n`;
/** `key: value` in the Fakturownia source; the message must name `sources[0].key` (and `.inner`). */
const sourceSetting = (name: string, key: string, value: string, inner?: string): MalformedConfig => ({
  name,
  yaml: sources(fakturownia(`    ${key}: ${value}\n`)),
  path: `sources[0].${key}${inner ? `.${inner}` : ""}`,
});
/** `key: value` in a target otherwise valid; the message must name `targets[0].key` (and `.inner`). */
const targetSetting = (name: string, key: string, value: string, inner?: string): MalformedConfig => ({
  name,
  yaml: `${sources(fakturownia())}${target(`${key}: ${value}`)}`,
  path: `targets[0].${key}${inner ? `.${inner}` : ""}`,
});

export const MALFORMED_CONFIGS: MalformedConfig[] = [
  // YAML syntax
  { name: "unclosed flow mapping", yaml: `sources: [ { name: a, api_token: ${S}\n`, path: "line 2" },
  { name: "tab indentation", yaml: `sources:\n\t- name: a\n\t  api_token: ${S}\n`, path: "line 2" },
  { name: "unquoted cron", yaml: sources(fakturownia("    schedule: */1 * * * *\n")), path: "line 6" },
  { name: "duplicate key", yaml: sources(fakturownia(`    api_token: ${S}\n`)), path: "line 6" },
  { name: "unterminated quote around a secret", yaml: sources(fakturownia().replace(S, `"${S}`)), path: "line" },
  { name: "two YAML documents", yaml: `${sources(fakturownia())}---\nsources: []\n`, path: "line 6" },
  { name: "empty file", yaml: "# nothing\n", path: "empty" },
  { name: "top level is a list", yaml: `- ${S}\n`, path: "top level" },
  { name: "deeply nested flow sequences (2,000 levels)", yaml: `sources: ${"[".repeat(2000)}${"]".repeat(2000)}\n`, path: "line 1" },
  { name: "alias bomb (billion laughs)", yaml: `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nsources: [*f]\n`, path: "aliases" },
  { name: "binary garbage", yaml: `\u0000\u0001\u0002PK\u0003\u0004${S}\u0000\uFFFE`, path: "config" },
  { name: "3,000 junk keys", yaml: `${sources(fakturownia())}${Array.from({ length: 3000 }, (_, i) => `junk_key_${i}: ${i}`).join("\n")}\n`, path: "junk_key_0" },
  { name: "secret made a key by bad indentation", yaml: sources(fakturownia().replace(`api_token: ${S}`, `api_token:\n    ${S}: x`)), path: "sources[0]" },

  // Unknown keys and kinds
  sourceSetting("unknown key", "schedul", '"*/5 * * * *"'),
  { name: "unknown nested key", yaml: sources(rest("      - { name: costs, path: /costs, cursor: { fieldd: modified_at, param: since } }\n")), path: "sources[0].resources[0].cursor.fieldd" },
  { name: "unknown top-level key", yaml: `sourcse: []\n${sources(fakturownia())}`, path: "sourcse" },
  { name: "missing preset and type", yaml: `sources:\n  - { name: a, api_token: ${S} }\n`, path: "sources[0]" },
  { name: "unknown preset", yaml: sources(fakturownia().replace("preset: fakturownia", "preset: fakturowna")), path: "sources[0].preset" },
  { name: "both preset and type", yaml: sources(fakturownia("    type: rest\n")), path: "sources[0]" },
  { name: "sources empty", yaml: "sources: []\n", path: "sources" },
  { name: "no sources key", yaml: "targets: []\n", path: "sources" },
  { name: "targets is a mapping", yaml: `${sources(fakturownia())}targets: { name: erp }\n`, path: "targets" },

  // Secrets and variables
  { name: "missing secret variable", yaml: sources(fakturownia().replace(S, "${FAKTUROWNIA_API_TOKEN}")), path: "sources[0].api_token" },
  sourceSetting("both K and K_file", "api_token_file", "token.txt"),
  { name: "K_file that does not exist", yaml: sources(fakturownia().replace(`api_token: ${S}`, "api_token_file: no/such/file")), path: "sources[0].api_token_file" },
  { name: "secret as a list", yaml: sources(fakturownia().replace(S, `[${S}]`)), path: "sources[0].api_token" },
  { name: "empty secret", yaml: sources(fakturownia().replace(S, '""')), path: "sources[0].api_token" },
  { name: "whsec_ secret that is not base64", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "https://x.example", secret: "whsec_${SECRETS.adminToken}!!" }\n`, path: "targets[0].secret" },

  // Names and references
  { name: "duplicate source names", yaml: sources(fakturownia(), fakturownia()), path: "sources[1].name" },
  { name: "duplicate target names", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "https://a.example" }\n  - { name: t, url: "https://b.example" }\n`, path: "targets[1].name" },
  { name: "target naming an unknown source", yaml: `${sources(fakturownia())}${target("sources: [nope]")}`, path: "targets[0].sources[0]" },
  { name: "source name with a space", yaml: sources(fakturownia("", '"my source"')), path: "sources[0].name" },

  // Resources
  { name: "unknown resource for a preset", yaml: sources(fakturownia("    resources: [invoices, bananas]\n")), path: "sources[0].resources[1]" },
  { name: "reserved transition event", yaml: sources(fakturownia("    resources: [{ name: invoices, transitions: [{ event: paid, field: status, to: paid }] }]\n")), path: "sources[0].resources[0].transitions[0].event" },
  { name: "max_delete_ratio above 1", yaml: sources(fakturownia("    resources: [{ name: invoices, max_delete_ratio: 1.5 }]\n")), path: "sources[0].resources[0].max_delete_ratio" },
  { name: "rest resource without path", yaml: sources(rest("      - { name: a }\n")), path: "sources[0].resources[0].path" },
  { name: "cursor with param and order", yaml: sources(rest("      - { name: a, path: /a, cursor: { field: u, param: since, order: desc } }\n")), path: "sources[0].resources[0].cursor.param" },
  { name: "unknown pagination style", yaml: sources(rest("      - { name: a, path: /a, pagination: { style: cursor } }\n")), path: "sources[0].resources[0].pagination.style" },
  { name: "get without {id}", yaml: sources(rest("      - { name: a, path: /a, get: /a/one }\n")), path: "sources[0].resources[0].get" },
  { name: "headers as a list", yaml: sources(rest("      - { name: a, path: /a }\n").replace(`headers: { Authorization: "Bearer ${SECRETS.restToken}" }`, `headers: ["Bearer ${SECRETS.restToken}"]`)), path: "sources[0].headers" },

  // Source settings
  sourceSetting("invalid cron", "schedule", '"61 * * * *"'),
  sourceSetting("impossible cron", "reconcile", '"0 0 31 2 *"'),
  sourceSetting("empty schedule", "schedule", '""'),
  sourceSetting("bad duration", "overlap", "5 minutes"),
  sourceSetting("negative duration", "timeout", "-5s"),
  sourceSetting("bad timezone", "timezone", "Europe/Warsw"),
  sourceSetting("base_url with credentials", "base_url", `"https://u:${S}@acme.example"`),
  sourceSetting("budget per week", "budget", "{ requests: 100, per: week }", "per"),
  sourceSetting("bad max_response_bytes", "max_response_bytes", "50 bananas"),
  sourceSetting("impossible since date", "start", '{ since: "2026-02-30" }', "since"),

  // Targets, server, state
  { name: "target URL not http", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "ftp://x.example/in" }\n`, path: "targets[0].url" },
  { name: "target URL with credentials", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "https://hook:${S}@x.example/in" }\n`, path: "targets[0].url" },
  { name: "target without url", yaml: `${sources(fakturownia())}targets:\n  - { name: t }\n`, path: "targets[0].url" },
  targetSetting("unknown target format", "format", "json"),
  targetSetting("target concurrency zero", "concurrency", "0"),
  targetSetting("tls ca that is not PEM", "tls", `{ ca: ${SECRETS.adminToken} }`, "ca"),
  { name: "server listen without port", yaml: `server: { listen: localhost }\n${sources(fakturownia())}`, path: "server.listen" },
  { name: "state url of an unsupported store", yaml: `state: { url: "mysql://u:${S}@db/x" }\n${sources(fakturownia())}`, path: "state.url" },
];
