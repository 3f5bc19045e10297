/**
 * A small parser of the Prometheus text exposition format (version 0.0.4), independent of
 * prom-client: `# HELP` / `# TYPE` lines and samples `name{label="value",…} number [timestamp]`.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
  /** Samples of `name` whose labels include every given label. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The one sample's value (0 when there is none; throws when several match). */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum over the matching samples. */
  sum(name: string, labels?: Record<string, string>): number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (meta?.[1] === "TYPE") types.set(meta[2]!, meta[3]!);
      else if (meta?.[1] === "HELP") help.set(meta[2]!, meta[3]!);
      return;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`line ${index + 1}: no metric name: ${line}`);
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      let i = 1;
      for (;;) {
        while (rest[i] === " " || rest[i] === ",") i += 1;
        if (rest[i] === "}") break;
        const labelName = NAME.exec(rest.slice(i))?.[0];
        if (!labelName || rest[i + labelName.length] !== "=" || rest[i + labelName.length + 1] !== '"') throw new Error(`line ${index + 1}: bad label at ${rest.slice(i)}`);
        i += labelName.length + 2;
        let value = "";
        while (rest[i] !== '"') {
          if (i >= rest.length) throw new Error(`line ${index + 1}: unterminated label value`);
          if (rest[i] === "\\") {
            const next = rest[i + 1];
            value += next === "n" ? "\n" : next;
            i += 2;
          } else {
            value += rest[i];
            i += 1;
          }
        }
        labels[labelName] = value;
        i += 1;
      }
      rest = rest.slice(i + 1);
    }
    const [valueText] = rest.trim().split(/\s+/);
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : valueText === "NaN" ? Number.NaN : Number(valueText);
    if (valueText === undefined || (Number.isNaN(value) && valueText !== "NaN")) throw new Error(`line ${index + 1}: bad value: ${line}`);
    samples.push({ name, labels, value });
  });
  const find = (name: string, wanted: Record<string, string> = {}): Sample[] =>
    samples.filter((s) => s.name === name && Object.entries(wanted).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    help,
    find,
    value(name, wanted) {
      const found = find(name, wanted);
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(wanted)}`);
      return found[0]?.value ?? 0;
    },
    sum(name, wanted) {
      return find(name, wanted).reduce((total, s) => total + s.value, 0);
    },
  };
}
