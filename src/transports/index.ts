import type { z } from "zod";
import type { TargetConfig } from "../config/types.js";
import * as registry from "./registry.js";
import type { TransportDefinition, TransportTarget } from "./types.js";

const DEFAULT_TRANSPORT_TYPE = "http";

export type { ConnectionState, ConnectionStatus, OutgoingMessage, SendResult, SendOutcome, Transport, TransportDefinition, TransportTarget } from "./types.js";

/** `http` first (the default), then by name: a module namespace's key order is not the file's. */
const DEFINITIONS: readonly TransportDefinition[] = Object.values(registry).sort((a, b) =>
  a.type === DEFAULT_TRANSPORT_TYPE ? -1 : b.type === DEFAULT_TRANSPORT_TYPE ? 1 : a.type.localeCompare(b.type),
);

/** The `type:` values a target may have; `http` first (the default). */
export const TRANSPORT_TYPES = DEFINITIONS.map((definition) => definition.type) as [string, ...string[]];

export const DEFAULT_TRANSPORT = DEFAULT_TRANSPORT_TYPE;

/** The transport of a target (`http` when it has no `type`). */
export function transportOf(target: Pick<TargetConfig, "type">): TransportDefinition {
  const type = target.type ?? DEFAULT_TRANSPORT;
  const definition = DEFINITIONS.find((candidate) => candidate.type === type);
  if (!definition) throw new Error(`unknown target type "${type}" (known: ${TRANSPORT_TYPES.join(", ")})`);
  return definition;
}

/** Every transport's own config keys, each with the transport that uses it. */
export function transportFields(): Array<{ key: string; type: string; schema: z.ZodType }> {
  const out: Array<{ key: string; type: string; schema: z.ZodType }> = [];
  for (const definition of DEFINITIONS) {
    for (const [key, schema] of Object.entries(definition.fields)) {
      if (out.some((field) => field.key === key)) throw new Error(`transport ${definition.type}: key "${key}" is already used by another transport`);
      out.push({ key, type: definition.type, schema });
    }
  }
  return out;
}

/** The target as its transport reads it (the loader parsed the transport's keys into it). */
export function asTransportTarget(target: TargetConfig): TransportTarget {
  return target as TransportTarget;
}
