import type { Clock } from "../clock.js";
import { isRestSource, type SourceConfig } from "../config/types.js";
import type { Logger } from "../telemetry/logger.js";
import type { SourceDeps } from "./deps.js";
import { HttpClient, type HttpClientOptions } from "./http/client.js";
import { presetSpec } from "./presets/index.js";
import { createRestSource } from "./rest/index.js";
import type { Source } from "./source.js";

export interface SourceHooks {
  beforeRequest?: HttpClientOptions["beforeRequest"];
  afterResponse?: HttpClientOptions["afterResponse"];
}

/** The source a config describes: the `type: rest` source, or the preset its spec makes. */
export function createSource(config: SourceConfig, base: { clock: Clock; logger: Logger }, hooks: SourceHooks = {}): Source {
  const deps: SourceDeps = {
    ...base,
    httpClient: (options) =>
      new HttpClient({
        timeoutMs: config.timeout,
        maxResponseBytes: config.max_response_bytes,
        clock: base.clock,
        ...options,
        // The app's hooks (budget, metrics) always run, with a preset's own after them.
        beforeRequest: async (request) => {
          await hooks.beforeRequest?.(request);
          await options.beforeRequest?.(request);
        },
        afterResponse: (response) => {
          hooks.afterResponse?.(response);
          options.afterResponse?.(response);
        },
      }),
  };
  if (isRestSource(config)) return createRestSource(config, deps);
  return presetSpec(config.preset).create(config, deps);
}

/** Requests one idle incremental pass costs, for budget planning (`validate`, start-up). */
export function idlePassCost(config: SourceConfig, passIntervalMs: number): number {
  if (isRestSource(config)) return config.resources.length;
  const spec = presetSpec(config.preset);
  return spec.idlePassCost ? spec.idlePassCost(config, passIntervalMs) : config.resources.length;
}
