import { randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { systemClock } from "../../clock.js";
import { parseConfig } from "../../config/load.js";
import type { SourceConfig } from "../../config/types.js";
import { seedDemo } from "../../demo/simulation.js";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../../errors.js";
import { startFakturowniaFake } from "../../simulators/fakturownia/fake.js";
import { doctorSource, type DoctorSource } from "../../sources/doctor.js";
import { createLogger } from "../../telemetry/logger.js";
import { configFor } from "../io.js";
import type { Command } from "./command.js";

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check every vendor assumption live, with a bounded, printed number of requests",
  help: `Usage: retrohook doctor [-c FILE] [--source NAME] [--demo]

Asks each source's vendor, resource by resource, what retrohook relies on, and prints a table
per resource: reachable, permission, order honoured, cursor field present, page size, deletion
check path — each with what retrohook will do about it — and the requests it cost. Per
resource: the first page of a complete listing (a preset may need one to three requests before
it, e.g. an audit log's position) and one single-record GET for a record just listed; never a
request for a record that does not exist. After two refused requests (401/403) the remaining
resources are left unchecked, well below FacturaScripts' IP ban (5 refusals in 10 minutes).
Nothing is written to the state. Exit 1 when a check failed.

--demo checks the built-in simulated Fakturownia account instead of a config.
`,
  options: { source: { type: "string" }, demo: { type: "boolean" } },
  async run(values, io) {
    const logger = createLogger({ level: process.env.RETROHOOK_LOG_LEVEL ?? "error" });
    const clock = systemClock();
    let sources: SourceConfig[];
    let close = async (): Promise<void> => undefined;
    if (values.demo) {
      const token = randomBytes(12).toString("hex");
      const fake = await startFakturowniaFake({ apiToken: token });
      seedDemo(fake);
      close = () => fake.close();
      const yaml = stringify({
        sources: [{ name: "demo-fakturownia", preset: "fakturownia", base_url: fake.url, api_token: token, resources: ["invoices", "cost_invoices", "warehouse_documents", "payments"] }],
        targets: [],
      });
      sources = parseConfig(yaml, { path: "demo.yaml", env: {} }).sources;
    } else {
      sources = configFor(values.config as string | undefined, io).sources;
    }
    if (values.source !== undefined) {
      sources = sources.filter((source) => source.name === values.source);
      if (sources.length === 0) throw new UsageError(`--source ${String(values.source)}: no such source in the config`);
    }
    let failed = false;
    let total = 0;
    try {
      for (const source of sources) {
        const report = await doctorSource(source, { clock, logger });
        total += report.requests;
        if (report.resources.some((r) => r.checks.some((c) => !c.ok))) failed = true;
        io.out(render(report));
      }
    } finally {
      await close();
    }
    io.out(`${total} requests in all\n`);
    return failed ? EXIT_FAILURE : EXIT_OK;
  },
};

function render(report: DoctorSource): string {
  const lines = [`source ${report.source} (${report.kind}): ${report.requests} requests`, ""];
  for (const resource of report.resources) {
    lines.push(`  ${resource.resource}: ${resource.requests} requests`);
    const rows = [["CHECK", "FINDING", "WHAT RETROHOOK DOES"], ...resource.checks.map((c) => [`${c.ok ? " " : "!"} ${c.check}`, c.finding, c.action])];
    const widths = [0, 0];
    for (const row of rows) for (const i of [0, 1]) widths[i] = Math.max(widths[i]!, row[i]!.length);
    for (const row of rows) lines.push(`    ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`.trimEnd());
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}
