import type { Clock } from "../clock.js";
import { isRestSource, type PresetName, type SourceConfig } from "../config/types.js";
import type { Logger } from "../telemetry/logger.js";
import { HttpClient, type HttpClientOptions } from "./http/client.js";
import { createFacturaScriptsSource, facturaScriptsIdlePassCost } from "./presets/facturascripts/index.js";
import { createFakturowniaSource } from "./presets/fakturownia/index.js";
import { createRestSource } from "./rest/index.js";
import { createWfirmaSource, wfirmaIdlePassCost } from "./presets/wfirma/index.js";
import { createFakturoidSource, fakturoidIdlePassCost } from "./presets/fakturoid/index.js";
import type { SourceDeps } from "./deps.js";
import type { Source } from "./source.js";

export type SourceFactory<C extends SourceConfig = SourceConfig> = (config: C, deps: SourceDeps) => Source;

/** One line per preset. */
const presets: Partial<Record<PresetName, SourceFactory<never>>> = {
  fakturownia: createFakturowniaSource as SourceFactory<never>,
  facturascripts: createFacturaScriptsSource as SourceFactory<never>,
  wfirma: createWfirmaSource as SourceFactory<never>,
  fakturoid: createFakturoidSource as SourceFactory<never>,
};

export function registerPreset<N extends PresetName>(name: N, factory: SourceFactory<Extract<SourceConfig, { preset: N }>>): void {
  presets[name] = factory as SourceFactory<never>;
}

export interface SourceHooks {
  beforeRequest?: HttpClientOptions["beforeRequest"];
  afterResponse?: HttpClientOptions["afterResponse"];
}

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
  const factory = presets[config.preset] as SourceFactory | undefined;
  if (!factory) throw new Error(`preset "${config.preset}" is not available in this build`);
  return factory(config, deps);
}

/** Requests one idle incremental pass costs, for budget planning (`validate`, start-up). */
export function idlePassCost(config: SourceConfig, passIntervalMs: number): number {
  if (isRestSource(config)) return config.resources.length;
  switch (config.preset) {
    case "facturascripts":
      return facturaScriptsIdlePassCost(config);
    case "wfirma":
      return wfirmaIdlePassCost(config);
    case "fakturoid":
      return fakturoidIdlePassCost(config, passIntervalMs);
    default:
      return config.resources.length;
  }
}
