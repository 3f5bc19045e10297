import type { ResourceCommon } from "../config/types.js";
import { typePrefixFor } from "../core/naming.js";
import type { Transition } from "../core/transitions.js";
import type { SourceRecord } from "../core/types.js";
import type { Batch, ListMode, ListResult, PassContext, PollerRules, ResourcePoller } from "./source.js";
import { naturalTransitions } from "./transitions.js";

/** A resource's rules from its config: built-in transitions (a preset's `paid`…) first, then the user's. */
export function pollerRules(config: ResourceCommon, builtIn: Transition[]): PollerRules {
  return {
    typePrefix: typePrefixFor(config.name, config.type_prefix),
    ignoreFields: config.ignore_fields,
    transitions: naturalTransitions(builtIn, config.transitions),
    maxDeleteRatio: config.max_delete_ratio,
    maxDeleteMin: config.max_delete_min,
  };
}

/** What every poller takes from its resource's config: its name and its rules. */
export abstract class PollerBase implements ResourcePoller {
  readonly resource: string;
  readonly rules: PollerRules;

  constructor(config: ResourceCommon, builtIn: Transition[]) {
    this.resource = config.name;
    this.rules = pollerRules(config, builtIn);
  }

  abstract createdAt(record: SourceRecord): number | undefined;
  abstract list(mode: ListMode, cursor: unknown, context: PassContext): AsyncGenerator<Batch, ListResult, void>;
}
