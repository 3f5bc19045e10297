import type { z } from "zod";
import { facturascriptsPreset } from "./facturascripts/index.js";
import { fakturoidPreset } from "./fakturoid/index.js";
import { fakturowniaPreset } from "./fakturownia/index.js";
import type { PresetSpec } from "./spec.js";
import { wfirmaPreset } from "./wfirma/index.js";

/**
 * The presets, one line each (the order is the order of `retrohook schema` and of the valid
 * presets in error messages). A new vendor is one folder beside these and one line here.
 */
export const PRESETS = [fakturowniaPreset, facturascriptsPreset, fakturoidPreset, wfirmaPreset] as const;

export type PresetName = (typeof PRESETS)[number]["name"];
/** A preset source's config, as its spec's schema parses it. */
export type PresetSourceConfig = z.output<(typeof PRESETS)[number]["schema"]>;

export const PRESET_NAMES: readonly PresetName[] = PRESETS.map((preset) => preset.name);

/** The spec of a preset by name; throws when this build has none. */
export function presetSpec(name: string): PresetSpec {
  const spec = (PRESETS as readonly PresetSpec[]).find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`preset "${name}" is not available in this build`);
  return spec;
}
