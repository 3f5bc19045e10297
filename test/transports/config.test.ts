import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { secretValues } from "../../src/config/secrets.js";
import type { Config } from "../../src/config/types.js";
import { ConfigError } from "../../src/errors.js";

const SOURCE = `
sources:
  - name: f
    preset: fakturownia
    domain: acme
    api_token: SECRET-abc123
targets:
`;

const parse = (targets: string): Config => parseConfig(`${SOURCE}${targets}`, { path: "/srv/retrohook/config.yaml", env: {} });

function problems(targets: string): string {
  try {
    parse(targets);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("target type and transport keys (checked without connecting)", () => {
  it("loads one target per transport; an http target keeps no type, as before", () => {
    const config = parse(`
  - { name: hook, url: "https://erp.example/hooks" }
  - { name: js, type: nats, url: "nats://127.0.0.1:4222", subject: "retrohook.{source}.{type}" }
  - { name: mq, type: amqp, url: "amqp://user:pa55word@127.0.0.1:5672/erp", exchange: retrohook, routing_key: "{type}" }
  - { name: rs, type: redis-stream, url: "redis://127.0.0.1:6379/0", stream: "retrohook:{source}", maxlen: 10000 }
`);
    expect(config.targets.map((t) => t.type)).toEqual([undefined, "nats", "amqp", "redis-stream"]);
    expect(config.targets[1]).toMatchObject({ subject: "retrohook.{source}.{type}", format: "standard", concurrency: 4 });
    expect(config.targets[3]).toMatchObject({ stream: "retrohook:{source}", maxlen: 10000 });
    // A broker URL's password is a secret: scrubbed from logs and output like the secret keys.
    expect(secretValues(config)).toContain("pa55word");
  });

  it("names a missing key, a wrong scheme, an unknown placeholder and a name no event can make valid", () => {
    const message = problems(`
  - { name: a, type: nats, url: "http://127.0.0.1:4222" }
  - { name: b, type: nats, url: "nats://127.0.0.1:4222", subject: "retrohook.{record}" }
  - { name: c, type: nats, url: "nats://127.0.0.1:4222", subject: "retrohook.*.{type}" }
  - { name: d, type: amqp, url: "amqp://127.0.0.1", exchange: "bad name", routing_key: "{type}" }
  - { name: e, type: redis-stream, url: "redis://127.0.0.1", stream: "retrohook:{source" }
  - { name: f, type: kafka, url: "kafka://x" }
  - { name: g, url: "https://erp.example/hooks", subject: "x" }
`);
    expect(message).toContain("targets[0].url: must be a nats:// or tls:// URL");
    expect(message).toContain("targets[0].subject: required for type nats");
    expect(message).toContain("targets[1].subject: unknown placeholder {record}");
    expect(message).toContain("targets[2].subject: a subject to publish to must not contain the wildcards");
    expect(message).toContain("targets[3].exchange: an exchange name may contain only");
    expect(message).toContain("targets[4].stream: has an unmatched { or }");
    expect(message).toMatch(/targets\[5\]\.type: expected one of "http", "amqp", "nats", "redis-stream"/);
    expect(message).toContain("targets[6].subject: only used with type: nats");
  });

  it("takes TLS broker URLs (tls://, amqps://, rediss://, nats:// with tls) and refuses tls with a plain amqp:// or redis:// URL, which would not encrypt", () => {
    const pem = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----";
    const config = parse(`
  - { name: js, type: nats, url: "tls://u:pw-nats@127.0.0.1:4222", subject: "retrohook.{type}" }
  - { name: js2, type: nats, url: "nats://127.0.0.1:4222", subject: "retrohook.{type}", tls: { ca: "${pem}" } }
  - { name: mq, type: amqp, url: "amqps://u:pw-amqp@127.0.0.1:5671/erp", exchange: retrohook, routing_key: "{type}", tls: { ca: "${pem}" } }
  - { name: rs, type: redis-stream, url: "rediss://:pw-redis@127.0.0.1:6380/0", stream: "retrohook:{source}" }
`);
    expect(config.targets.map((t) => t.url)).toEqual(["tls://u:pw-nats@127.0.0.1:4222", "nats://127.0.0.1:4222", "amqps://u:pw-amqp@127.0.0.1:5671/erp", "rediss://:pw-redis@127.0.0.1:6380/0"]);
    expect(config.targets[2]!.tls?.ca).toContain("BEGIN CERTIFICATE");
    expect(secretValues(config)).toEqual(expect.arrayContaining(["pw-nats", "pw-amqp", "pw-redis"]));
    const message = problems(`
  - { name: mq, type: amqp, url: "amqp://127.0.0.1:5671/erp", exchange: retrohook, routing_key: "{type}", tls: { ca: "${pem}" } }
  - { name: rs, type: redis-stream, url: "redis://127.0.0.1:6380/0", stream: "retrohook:{source}", tls: { ca: "${pem}" } }
`);
    expect(message).toContain("targets[0].tls: needs the URL scheme amqps://: with amqp:// the connection is not encrypted");
    expect(message).toContain("targets[1].tls: needs the URL scheme rediss://: with redis:// the connection is not encrypted");
  });

  it("keeps the http rules for http targets (no credentials in the URL)", () => {
    expect(problems(`
  - { name: a, url: "https://user:pw@erp.example/hooks" }
`)).toContain("targets[0].url: must not contain credentials");
  });
});

describe("the README's Targets example", () => {
  it("loads: one target per transport", async () => {
    const { readFileSync } = await import("node:fs");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Targets\n"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const config = parseConfig(`${SOURCE.replace("targets:\n", "")}${yaml}`, {
      path: "/srv/retrohook/config.yaml",
      env: { ERP_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", RABBIT_PASSWORD: "rabbit-pass" },
    });
    expect(config.targets.map((t) => t.type ?? "http")).toEqual(["http", "nats", "amqp", "redis-stream"]);
  });
});
