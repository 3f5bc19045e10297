import { EXIT_OK } from "../../errors.js";
import { describeResume, resumeResources, type ResumeResult } from "../../pipeline/resume.js";
import { AdminClient, daemonHoldsState } from "../../server/daemon-client.js";
import { openStateStore } from "../../store/open.js";
import { configFor } from "../io.js";
import type { Command } from "./command.js";
import { sourceAndResource } from "./reset.js";

export const resumeCommand: Command = {
  name: "resume",
  summary: "lift a source's (or resource's) suspension and back-off, keeping its state",
  help: `Usage: retrohook resume --source S [--resource R] [-c FILE]

Lifts the suspension of the source (or one resource) after access was granted or the
credentials fixed, its back-off, and what it learned about feeds the key could not read.
Cursors and snapshots are kept: the next pass delivers what changed while it was suspended.
Suspensions are also tried again automatically every \`reprobe\` (default 1h), one request each.
\`retrohook reset\` is the way to start over. While the daemon runs, this asks its admin API
(server.listen, admin_token).
`,
  options: { source: { type: "string" }, resource: { type: "string" } },
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    const { source, resource } = sourceAndResource(config, values);
    if (await daemonHoldsState(config.state.url)) {
      const result = await new AdminClient(config).request<ResumeResult>("POST", `/api/sources/${encodeURIComponent(source.name)}/resume`, resource ? { resource } : {});
      io.out(`${describeResume(source.name, result)}; the daemon's next pass picks up from there\n`);
      return EXIT_OK;
    }
    const store = await openStateStore(config.state.url);
    try {
      const result = await resumeResources(store, source, resource);
      io.out(`${describeResume(source.name, result)}; the next pass picks up from there\n`);
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};
