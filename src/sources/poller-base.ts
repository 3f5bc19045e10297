import type { ResourceCommon } from "../config/types.js";
import { typePrefixFor } from "../core/naming.js";
import type { Transition } from "../core/transitions.js";
import type { SourceRecord } from "../core/types.js";
import type { Batch, ListMode, ListResult, PassContext, ResourcePoller } from "./source.js";
import { naturalTransitions } from "./transitions.js";

/** What every poller takes from its resource's config: names, fingerprint rules, transitions, delete guard. */
export abstract class PollerBase implements ResourcePoller {
  readonly resource: string;
  readonly typePrefix: string;
  readonly ignoreFields: readonly string[];
  readonly transitions: readonly Transition[];
  readonly maxDeleteRatio: number;
  readonly maxDeleteMin: number;

  constructor(config: ResourceCommon, builtIn: Transition[]) {
    this.resource = config.name;
    this.typePrefix = typePrefixFor(config.name, config.type_prefix);
    this.ignoreFields = config.ignore_fields;
    this.transitions = naturalTransitions(builtIn, config.transitions);
    this.maxDeleteRatio = config.max_delete_ratio;
    this.maxDeleteMin = config.max_delete_min;
  }

  abstract createdAt(record: SourceRecord): number | undefined;
  abstract list(mode: ListMode, cursor: unknown, context: PassContext): AsyncGenerator<Batch, ListResult, void>;
}
