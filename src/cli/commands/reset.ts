import { routeWithExpressions } from "../../core/routing.js";
import { EXIT_OK, UsageError } from "../../errors.js";
import { resetResources } from "../../pipeline/reset.js";
import type { ResetActionResult } from "../../server/actions.js";
import { AdminClient, daemonHoldsState } from "../../server/daemon-client.js";
import { openStateStore } from "../../store/open.js";
import type { Config, SourceConfig } from "../../config/types.js";
import { configFor } from "../io.js";
import type { Command } from "./command.js";

export const resetCommand: Command = {
  name: "reset",
  summary: "forget a source's (or resource's) state, or release held deletions",
  help: `Usage: retrohook reset --source S [--resource R] [--accept-deletes] [-c FILE]

Without --accept-deletes: forgets snapshots, cursor, suspensions and back-off of the source (or
one resource); the next pass starts over with the \`start\` policy, and new event ids never reuse
old ones. With --accept-deletes: emits the deletions that max_delete_min / max_delete_ratio held,
and changes nothing else. While the daemon runs, this asks its admin API (server.listen,
admin_token), which waits for a running pass of the source to finish first.
`,
  options: { source: { type: "string" }, resource: { type: "string" }, "accept-deletes": { type: "boolean" } },
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    const { source, resource } = sourceAndResource(config, values);
    const sourceName = source.name;
    const acceptDeletes = values["accept-deletes"] === true;
    if (await daemonHoldsState(config.state.url)) {
      const result = await new AdminClient(config).request<ResetActionResult>("POST", `/api/sources/${encodeURIComponent(sourceName)}/reset`, {
        ...(resource ? { resource } : {}),
        accept_deletes: acceptDeletes,
      });
      io.out(
        acceptDeletes
          ? `released ${result.released} held deletions of ${sourceName}/${result.resources.join(", ")}; the daemon delivers them now\n`
          : `reset ${sourceName}: ${result.resources.join(", ")}; the daemon's next pass starts over\n`,
      );
      return EXIT_OK;
    }
    const store = await openStateStore(config.state.url);
    try {
      const result = await resetResources(store, source, resource, { acceptDeletes, now: Date.now(), route: (e) => routeWithExpressions(e, config.targets) });
      io.out(
        acceptDeletes
          ? `released ${result.released} held deletions of ${sourceName}/${result.resources.join(", ")}; they are delivered by the running daemon or the next once/run\n`
          : `reset ${sourceName}: ${result.resources.join(", ")}; the next pass starts over\n`,
      );
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};

/** `--source S [--resource R]`, checked against the config. */
export function sourceAndResource(config: Config, values: Record<string, string | boolean | undefined>): { source: SourceConfig; resource: string | undefined } {
  const sourceName = values.source as string | undefined;
  if (!sourceName) throw new UsageError("--source is required");
  const source = config.sources.find((s) => s.name === sourceName);
  if (!source) throw new UsageError(`--source ${sourceName}: no such source (configured: ${config.sources.map((s) => s.name).join(", ")})`);
  const resource = values.resource as string | undefined;
  if (resource && !source.resources.some((r) => r.name === resource)) {
    throw new UsageError(`--resource ${resource}: source ${sourceName} has no such resource (configured: ${source.resources.map((r) => r.name).join(", ")})`);
  }
  return { source, resource };
}
