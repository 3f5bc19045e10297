import type { z } from "zod";
import type { ResourceCommon } from "../../config/types.js";
import type { CanonicalResource } from "../../core/naming.js";
import type { SourceDeps } from "../deps.js";
import type { Source } from "../source.js";

/** What the config schema of a preset parses to, at least. */
export interface PresetConfigBase<N extends string = string> {
  name: string;
  preset: N;
  resources: ResourceCommon[];
}

/**
 * Everything retrohook knows about a preset, in one value: the config schema (zod, every key
 * `.describe()`d: the user documentation), the resources it supports, its secret keys (each may
 * be given as `K_file`), the requests an idle pass costs (budget planning) and the factory of
 * its pollers. `sources/presets/index.ts` lists the specs; the config schema, the loader and the
 * source registry read everything from that list.
 */
export interface PresetSpec<N extends string = string, S extends z.ZodType<PresetConfigBase<N>> = z.ZodType<PresetConfigBase<N>>> {
  name: N;
  schema: S;
  /** Canonical resources, in a stable order (the default `resources:`). */
  resources: readonly [CanonicalResource, ...CanonicalResource[]];
  /** Keys `K` that may be given as `K_file`. */
  secretKeys: readonly string[];
  /** Requests an idle incremental pass costs; default one per resource. */
  idlePassCost?(config: z.output<S>, passIntervalMs: number): number;
  /** How the vendor writes instants, for showing cursors (`status`): `wall` = zone-less in the source's timezone; default ISO 8601 with the zone's offset. */
  stamps?: "wall" | "iso";
  create(config: z.output<S>, deps: SourceDeps): Source;
}

/** Checks a spec's parts against each other (the schema's output is what `create` takes). */
export function definePreset<N extends string, S extends z.ZodType<PresetConfigBase<N>>>(spec: PresetSpec<N, S>): PresetSpec<N, S> {
  return spec;
}

/**
 * What a preset maps a configured resource to (its endpoint, tables, modules…). The config lets
 * only the preset's resources through, so a resource missing from `parts` is the preset's bug:
 * it fails the source's start, naming `where` (`source NAME: preset`).
 */
export function resourcePart<T>(parts: Readonly<Record<string, T>>, resource: string, where: string): T {
  const part = parts[resource];
  if (part === undefined) throw new Error(`${where} has no resource "${resource}" (supported: ${Object.keys(parts).join(", ")})`);
  return part;
}
