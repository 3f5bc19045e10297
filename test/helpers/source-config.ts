import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import type { PresetResourceConfig, RestResourceConfig, SourceConfig } from "../../src/config/types.js";

/**
 * Source configs for tests, as the loader makes them: the input is written as a user writes it
 * (durations as text, resources as names) and parsed by the real config parser — its defaults,
 * resource objects and start inheritance, never a hand-copied block of them. `overrides` then
 * replace values in their loaded form (milliseconds, objects), for what a test sets directly.
 */
export function loadedSource<C extends SourceConfig>(input: Record<string, unknown>, overrides: Partial<C> = {}): C {
  const config = parseConfig(stringify({ sources: [input] }), { path: "/test/config.yaml", env: {} });
  return { ...(config.sources[0] as C), ...overrides };
}

/** What the parser gives a resource written as just its name (every preset's resources share it). */
const PRESET_RESOURCE_DEFAULTS = (() => {
  const { name: _name, start: _start, ...defaults } = loadedSource({ name: "s", preset: "fakturownia", domain: "x", api_token: "t", resources: ["invoices"] }).resources[0]!;
  return defaults;
})();

/** A preset resource `name` as the loader makes it, with `overrides` in loaded form. */
export function loadedPresetResource(name: string, overrides: Partial<PresetResourceConfig> = {}): PresetResourceConfig {
  return { name, ...PRESET_RESOURCE_DEFAULTS, ...overrides };
}

/** A `type: rest` resource written as `input` (user form), as the loader makes it, with `overrides` in loaded form. */
export function loadedRestResource(input: Record<string, unknown>, overrides: Partial<RestResourceConfig> = {}): RestResourceConfig {
  const { start: _start, ...resource } = loadedSource<Extract<SourceConfig, { type: "rest" }>>({ name: "s", type: "rest", base_url: "http://127.0.0.1", resources: [input] }).resources[0]!;
  return { ...resource, ...overrides };
}
