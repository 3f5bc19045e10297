import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";
import { thrown } from "../helpers/thrown.js";

/** Distinctive secret values: none may ever appear in an error. */
const SECRET = "SECRET-abc123";
const ENV = { TOKEN: "SECRET-env-456", ADMIN: "SECRET-admin-777" };
const SECRETS = [SECRET, ...Object.values(ENV), "SECRET"];

/** A valid fakturownia source; `extra` lines are added at source level (4 spaces). */
const fakturownia = (extra = "", name = "f") =>
  `  - name: ${name}\n    preset: fakturownia\n    domain: acme\n    api_token: ${SECRET}\n${extra}`;
const sources = (...items: string[]) => `sources:\n${items.join("")}`;
const rest = (resources: string, extra = "") =>
  `  - name: legacy\n    type: rest\n    base_url: https://legacy.example/api\n    headers: { Authorization: "Bearer ${SECRET}" }\n${extra}    resources:\n${resources}`;
/** A fakturownia source whose `resources:` list is `list` (flow YAML). */
const withResources = (list: string) => sources(fakturownia(`    resources: ${list}\n`));
/** A `type: rest` source with the one resource `entry` (flow YAML); `extra` as in `rest`. */
const restWith = (entry: string, extra = "") => sources(rest(`      - ${entry}\n`, extra));
const target = (fields: string) => `targets:\n  - { name: erp, url: "https://erp.example/hooks", secret: ${SECRET}, ${fields} }\n`;
const fakturoid = (userAgent: string) =>
  `  - { name: fo, preset: fakturoid, account: acme, client_id: ${SECRET}, client_secret: ${SECRET}, user_agent: "${userAgent}" }\n`;

interface Case {
  name: string;
  yaml: string;
  /** The config path (or `line N`) the message must name. */
  path: string;
  /** More text the message must contain. */
  hint?: string;
}

const cases: Case[] = [
  // YAML syntax
  { name: "bad YAML (unclosed flow mapping)", yaml: `sources: [ { name: a, api_token: ${SECRET}\n`, path: "line 2" },
  { name: "tab indentation", yaml: `sources:\n\t- name: a\n\t  api_token: ${SECRET}\n`, path: "line 2, column 1", hint: "tabs" },
  { name: "unquoted cron", yaml: sources(fakturownia("    schedule: */1 * * * *\n")), path: "line 6", hint: 'quote cron strings: schedule: "*/1 * * * *"' },
  { name: "unquoted one-field cron (unresolved alias)", yaml: sources(fakturownia("    reconcile: */5\n")), path: "line 6", hint: "quote cron strings" },
  { name: "duplicate YAML key", yaml: sources(fakturownia(`    api_token: ${SECRET}\n`)), path: "line 6", hint: "duplicate key" },
  { name: "bad escape in a quoted secret", yaml: sources(fakturownia().replace(SECRET, `"${SECRET}\\q"`)), path: "line 5" },
  { name: "unterminated quote around a secret", yaml: sources(fakturownia().replace(SECRET, `"${SECRET}`)), path: "line 6", hint: "closing quote" },
  { name: "two YAML documents", yaml: `${sources(fakturownia())}---\nsources: []\n`, path: "line 6", hint: "one YAML document" },
  { name: "unquoted ${VAR} in a flow mapping", yaml: `server: { listen: "127.0.0.1:0", admin_token: \${ADMIN} }\n${sources(fakturownia())}`, path: "line 1", hint: 'quote values that hold ${VAR}' },
  { name: "empty file", yaml: "# nothing here\n", path: "empty" },
  { name: "top level is a list", yaml: `- ${SECRET}\n`, path: "top level" },

  // Unknown keys
  { name: "unknown key with suggestion", yaml: sources(fakturownia('    schedul: "*/5 * * * *"\n')), path: "sources[0].schedul", hint: 'did you mean "schedule"?' },
  {
    name: "unknown nested key: full path and suggestion",
    yaml: sources(fakturownia(), rest("      - { name: costs, path: /costs, cursor: { fieldd: modified_at, param: since } }\n")),
    path: "sources[1].resources[0].cursor.fieldd",
    hint: 'did you mean "field"?',
  },
  { name: "unknown top-level key", yaml: `sourcse: []\n${sources(fakturownia())}`, path: "sourcse", hint: 'did you mean "sources"?' },
  { name: "secret made a key by bad indentation", yaml: sources(fakturownia().replace(`api_token: ${SECRET}`, `api_token:\n    ${SECRET}: x`)), path: "sources[0]: unknown key that does not look like a config key", hint: "(line 6, column 5)" },
  { name: "key of another preset", yaml: sources(fakturownia("    token: x\n")), path: "sources[0].token", hint: "unknown key" },
  { name: "unknown pagination key", yaml: restWith("{ name: a, path: /a, pagination: { style: page, sise: 10 } }"), path: "sources[0].resources[0].pagination.sise", hint: '"size"' },

  // Source kind
  { name: "missing preset and type", yaml: `sources:\n  - { name: a, api_token: ${SECRET} }\n`, path: "sources[0]", hint: "fakturownia | facturascripts | fakturoid | wfirma" },
  { name: "unknown preset", yaml: sources(fakturownia().replace("preset: fakturownia", "preset: fakturowna")), path: "sources[0].preset", hint: 'did you mean "fakturownia"?' },
  { name: "both preset and type", yaml: sources(fakturownia("    type: rest\n")), path: "sources[0]", hint: "not both" },
  { name: "a preset given as type", yaml: `sources:\n  - { name: a, type: wfirma, oauth_token: ${SECRET} }\n`, path: "sources[0].type", hint: "preset: wfirma" },
  { name: "sources empty", yaml: "sources: []\n", path: "sources", hint: "at least one source" },
  { name: "no sources key", yaml: "targets: []\n", path: "sources", hint: "required" },
  { name: "source is not a mapping", yaml: `sources:\n  - ${SECRET}\n`, path: "sources[0]", hint: "expected a mapping" },

  // Secrets and variables
  { name: "missing secret variable", yaml: sources(fakturownia().replace(SECRET, "${FAKTUROWNIA_API_TOKEN}")), path: "sources[0].api_token", hint: "FAKTUROWNIA_API_TOKEN is not set" },
  { name: "unterminated ${ in a secret", yaml: sources(fakturownia().replace(SECRET, `"${SECRET}\${TOKEN"`)), path: "sources[0].api_token", hint: "unterminated" },
  { name: "both K and K_file", yaml: sources(fakturownia("    api_token_file: token.txt\n")), path: "sources[0].api_token_file", hint: "sources[0].api_token or" },
  { name: "K_file that does not exist", yaml: sources(fakturownia().replace(`api_token: ${SECRET}`, "api_token_file: no/such/file")), path: "sources[0].api_token_file", hint: "ENOENT" },
  { name: "secret of the wrong type (list)", yaml: sources(fakturownia().replace(SECRET, `[${SECRET}]`)), path: "sources[0].api_token", hint: "expected text, got a list" },
  { name: "secret of the wrong type (mapping)", yaml: `server: { admin_token: { value: ${SECRET} } }\n${sources(fakturownia())}`, path: "server.admin_token", hint: "expected text" },
  { name: "empty secret", yaml: sources(fakturownia().replace(SECRET, '""')), path: "sources[0].api_token", hint: "must not be empty" },
  { name: "secret variable where a number belongs", yaml: `${sources(fakturownia())}targets:\n  - name: t\n    url: "https://x.example"\n    concurrency: \${TOKEN}\n`, path: "targets[0].concurrency", hint: "expected a number" },

  // Names and cross-references
  { name: "duplicate source names", yaml: sources(fakturownia(), fakturownia()), path: "sources[1].name", hint: "duplicate source name" },
  { name: "duplicate target names", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "https://a.example" }\n  - { name: t, url: "https://b.example" }\n`, path: "targets[1].name", hint: "duplicate target name" },
  { name: "target naming an unknown source", yaml: `${sources(fakturownia())}${target("sources: [fakturownia]")}`, path: "targets[0].sources[0]", hint: 'unknown source "fakturownia"' },
  { name: "source name with a space", yaml: sources(fakturownia("", '"my source"')), path: "sources[0].name", hint: "letters, digits" },
  { name: "duplicate resource names", yaml: withResources("[invoices, { name: invoices }]"), path: "sources[0].resources[1].name", hint: "duplicate resource" },

  // Resources
  { name: "unknown resource for a preset", yaml: sources(fakturoid("Acme (it@acme.cz)").replace(" }\n", ", resources: [invoices, payments] }\n")), path: "sources[0].resources[1]", hint: "supported: invoices, cost_invoices, clients, products, warehouse_documents" },
  { name: "resource typo with suggestion", yaml: withResources("[{ name: cost_invoice }]"), path: "sources[0].resources[0].name", hint: 'did you mean "cost_invoices"?' },
  { name: "empty resources list", yaml: withResources("[]"), path: "sources[0].resources", hint: "at least one resource" },
  { name: "reserved transition event", yaml: withResources("[{ name: invoices, transitions: [{ event: paid, field: status, to: paid }] }]"), path: "sources[0].resources[0].transitions[0].event", hint: "reserved" },
  { name: "transition event not snake case", yaml: withResources("[{ name: invoices, transitions: [{ event: Approved, field: status, to: ok }] }]"), path: "sources[0].resources[0].transitions[0].event" },
  { name: "transition without to or changed", yaml: withResources("[{ name: invoices, transitions: [{ event: approved, field: status }] }]"), path: "sources[0].resources[0].transitions[0].to" },
  { name: "transition with changed and to", yaml: withResources("[{ name: invoices, transitions: [{ event: moved, field: s, to: x, changed: true }] }]"), path: "sources[0].resources[0].transitions[0].changed" },
  { name: "negative max_delete_min", yaml: withResources("[{ name: invoices, max_delete_min: -1 }]"), path: "sources[0].resources[0].max_delete_min", hint: "0 or more" },
  { name: "max_delete_ratio above 1", yaml: withResources("[{ name: invoices, max_delete_ratio: 1.5 }]"), path: "sources[0].resources[0].max_delete_ratio", hint: "between 0 and 1" },
  { name: "rest resource without path", yaml: restWith("{ name: a }"), path: "sources[0].resources[0].path", hint: "required" },
  { name: "rest resource given as a name", yaml: restWith("costs"), path: "sources[0].resources[0]", hint: "name and path" },
  { name: "cursor with both param and order", yaml: restWith("{ name: a, path: /a, cursor: { field: u, param: since, order: desc } }"), path: "sources[0].resources[0].cursor.param", hint: "exactly one" },
  { name: "cursor without field", yaml: restWith("{ name: a, path: /a, cursor: { param: since } }"), path: "sources[0].resources[0].cursor.field", hint: "required" },
  { name: "unknown pagination style", yaml: restWith("{ name: a, path: /a, pagination: { style: cursor } }"), path: "sources[0].resources[0].pagination.style", hint: '"next"' },
  { name: "next pagination without next", yaml: restWith("{ name: a, path: /a, pagination: { style: next } }"), path: "sources[0].resources[0].pagination.next", hint: "required" },
  { name: "get without {id}", yaml: restWith("{ name: a, path: /a, get: /a/one }"), path: "sources[0].resources[0].get", hint: "{id}" },
  { name: "invalid header name", yaml: restWith("{ name: a, path: /a }", '    query: { "bad header": 1 }\n').replace("headers: {", 'headers: { "Bad Header": x,'), path: 'sources[0].headers["Bad Header"]', hint: "header name" },

  // Source settings
  { name: "invalid cron", yaml: sources(fakturownia('    schedule: "61 * * * *"\n')), path: "sources[0].schedule", hint: "minute" },
  { name: "impossible cron", yaml: sources(fakturownia('    reconcile: "0 0 31 2 *"\n')), path: "sources[0].reconcile" },
  { name: "cron with 7 fields", yaml: sources(fakturownia('    schedule: "* * * * * * *"\n')), path: "sources[0].schedule", hint: "5 or 6 fields" },
  { name: "bad duration", yaml: sources(fakturownia("    overlap: 5 minutes\n")), path: "sources[0].overlap", hint: "duration" },
  { name: "duration without unit", yaml: sources(fakturownia("    timeout: 30\n")), path: "sources[0].timeout", hint: '"30s"' },
  { name: "bad timezone", yaml: sources(fakturownia("    timezone: Europe/Warsw\n")), path: "sources[0].timezone", hint: "IANA" },
  { name: "bad URL", yaml: sources(fakturownia("    base_url: not a url\n")), path: "sources[0].base_url", hint: "not a valid URL" },
  { name: "base_url with credentials", yaml: sources(fakturownia(`    base_url: "https://u:${SECRET}@acme.example"\n`)), path: "sources[0].base_url", hint: "credentials" },
  { name: "budget per invalid", yaml: sources(fakturownia("    budget: { requests: 100, per: week }\n")), path: "sources[0].budget.per", hint: '"month"' },
  { name: "budget requests zero", yaml: sources(fakturownia("    budget: { requests: 0, per: day }\n")), path: "sources[0].budget.requests" },
  { name: "bad start", yaml: sources(fakturownia("    start: basline\n")), path: "sources[0].start", hint: "baseline" },
  { name: "impossible since date", yaml: sources(fakturownia('    start: { since: "2026-02-30" }\n')), path: "sources[0].start.since", hint: "YYYY-MM-DD" },
  { name: "bad max_response_bytes", yaml: sources(fakturownia("    max_response_bytes: 50 bananas\n")), path: "sources[0].max_response_bytes" },
  { name: "fakturownia without domain or base_url", yaml: sources(fakturownia().replace("    domain: acme\n", "")), path: "sources[0].domain", hint: "base_url" },
  { name: "fakturownia domain as URL", yaml: sources(fakturownia().replace("domain: acme", "domain: https://acme.fakturownia.pl")), path: "sources[0].domain", hint: "base_url" },
  { name: "fakturoid user_agent without email", yaml: sources(fakturoid("Acme Sync")), path: "sources[0].user_agent", hint: "AppName (you@example.com)" },
  { name: "wfirma with both auth ways", yaml: `sources:\n  - { name: w, preset: wfirma, access_key: ${SECRET}, secret_key: ${SECRET}, app_key: ${SECRET}, oauth_token: "\${TOKEN}" }\n`, path: "sources[0].oauth_token", hint: "not both" },
  { name: "wfirma with part of the keys", yaml: `sources:\n  - { name: w, preset: wfirma, access_key: ${SECRET} }\n`, path: "sources[0].secret_key", hint: "required" },
  { name: "wfirma without credentials", yaml: "sources:\n  - { name: w, preset: wfirma }\n", path: "sources[0]", hint: "oauth_token" },
  { name: "facturascripts without base_url", yaml: `sources:\n  - { name: fs, preset: facturascripts, token: ${SECRET} }\n`, path: "sources[0].base_url", hint: "required" },

  // Targets, server, state
  { name: "target URL not http", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "ftp://x.example/in" }\n`, path: "targets[0].url", hint: "http" },
  { name: "target URL with a secret in it", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "https://hook:${SECRET}@x.example/in" }\n`, path: "targets[0].url" },
  { name: "unknown target format", yaml: `${sources(fakturownia())}${target("format: json")}`, path: "targets[0].format", hint: '"cloudevents"' },
  { name: "facturascripts format without secret", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "https://x.example", format: facturascripts }\n`, path: "targets[0].secret", hint: "required" },
  { name: "api_token on a standard target", yaml: `${sources(fakturownia())}${target(`api_token: ${SECRET}`)}`, path: "targets[0].api_token", hint: "format: fakturownia" },
  { name: "whsec_ secret that is not base64", yaml: `${sources(fakturownia())}targets:\n  - { name: t, url: "https://x.example", secret: "whsec_${SECRET}!" }\n`, path: "targets[0].secret", hint: "base64" },
  { name: "target concurrency zero", yaml: `${sources(fakturownia())}${target("concurrency: 0")}`, path: "targets[0].concurrency" },
  { name: "target retry max_age bad", yaml: `${sources(fakturownia())}${target("retry: { max_age: forever }")}`, path: "targets[0].retry.max_age" },
  { name: "target events empty", yaml: `${sources(fakturownia())}${target("events: []")}`, path: "targets[0].events" },
  { name: "target tls ca that is not PEM", yaml: `${sources(fakturownia())}${target(`tls: { ca: ${SECRET} }`)}`, path: "targets[0].tls.ca", hint: "PEM" },
  { name: "server listen without port", yaml: `server: { listen: localhost, admin_token: "\${ADMIN}" }\n${sources(fakturownia())}`, path: "server.listen", hint: "host:port" },
  { name: "server listen port too big", yaml: `server: { listen: "0.0.0.0:70000" }\n${sources(fakturownia())}`, path: "server.listen" },
  { name: "state url of an unsupported store", yaml: `state: { url: "mysql://u:${SECRET}@db/x" }\n${sources(fakturownia())}`, path: "state.url", hint: "sqlite" },
];

describe("malformed configs", () => {
  it("has at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)("$name → names $path", ({ yaml, path, hint }) => {
    const dir = tempDir();
    writeFileSync(join(dir, "token.txt"), `${SECRET}\n`);
    const { message, issues } = thrown(() => parseConfig(yaml, { path: join(dir, "config.yaml"), env: ENV }), ConfigError);
    expect(message.startsWith(join(dir, "config.yaml"))).toBe(true);
    expect(message).toContain(path);
    expect(issues.some((issue) => issue.includes(path))).toBe(true);
    if (hint) expect(message).toContain(hint);
    for (const secret of SECRETS) expect(message).not.toContain(secret);
  });
});
