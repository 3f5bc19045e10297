import { didYouMean } from "../core/did-you-mean.js";
import type { ConfigPath } from "./interpolate.js";
import { isPlainObject, kindOf, type Problem } from "./problems.js";
import { PRESET_NAMES, type SourceKind } from "./schema.js";

/** Which schema a source is parsed with (its `preset`, or `type: rest`), picked before parsing. */

const KIND_HINT = `"preset: ${PRESET_NAMES.join(" | ")}" for a vendor, or "type: rest" for a generic API`;

export function sourceKind(source: unknown, path: ConfigPath, problems: Problem[]): SourceKind | undefined {
  if (!isPlainObject(source)) {
    problems.push({ path, message: `expected a mapping (a source with name and preset or type), got ${kindOf(source)}` });
    return undefined;
  }
  const hasPreset = source.preset !== undefined;
  const hasType = source.type !== undefined;
  if (hasPreset && hasType) {
    problems.push({ path, message: "give either preset (a vendor) or type: rest (a generic API), not both" });
    return undefined;
  }
  if (!hasPreset && !hasType) {
    problems.push({ path, message: `needs ${KIND_HINT}` });
    return undefined;
  }
  if (hasPreset) {
    const preset = source.preset;
    if (typeof preset === "string" && (PRESET_NAMES as readonly string[]).includes(preset)) return preset as SourceKind;
    problems.push({ path: [...path, "preset"], message: `${unknownName("preset", preset, PRESET_NAMES)}; valid presets: ${PRESET_NAMES.join(", ")} (or type: rest for a generic API)` });
    return undefined;
  }
  if (source.type === "rest") return "rest";
  if (typeof source.type === "string" && (PRESET_NAMES as readonly string[]).includes(source.type)) {
    problems.push({ path: [...path, "type"], message: `${source.type} is a preset: write preset: ${source.type} instead of type` });
  } else {
    problems.push({ path: [...path, "type"], message: `${unknownName("type", source.type, ["rest"])}; the only type is "rest" (vendors use preset: ${PRESET_NAMES.join(" | ")})` });
  }
  return undefined;
}

/** `unknown preset "fakturowna"; did you mean "fakturownia"?` (names only; these are not secret). */
function unknownName(what: string, value: unknown, valid: readonly string[]): string {
  if (typeof value !== "string") return `${what} must be text, got ${kindOf(value)}`;
  const shown = value.length <= 40 ? ` "${value}"` : "";
  const suggestion = didYouMean(value, valid);
  return `unknown ${what}${shown}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
}
