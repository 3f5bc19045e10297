import type { SeriesView } from "./api-types.js";
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 288;
const HEIGHT = 72;
const PALETTE = ["#0969da", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#57606a", "#bf3989", "#0a3069"];
const OUTCOME_COLORS: Record<string, string> = { delivered: "#1a7f37", retry: "#0969da", failed: "#bc4c00", dead: "#cf222e", filtered: "#8c959f" };

function s(tag: string, attrs: Record<string, string | number>, children?: Array<Element | null>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children || []) if (child) el.append(child);
  return el;
}

function tip(text: string): SVGElement {
  const title = document.createElementNS(SVG, "title");
  title.textContent = text;
  return title;
}

function hourLabel(iso: string): string {
  return iso.slice(11, 16);
}

function figure(chart: string, of: string, title: string, svg: SVGElement, legend: Array<[string, string]>): HTMLElement {
  return h("figure", { class: "chart", "data-chart": chart, "data-of": of }, [
    h("figcaption", { text: title }),
    svg as unknown as HTMLElement,
    h("div", { class: "legend" }, legend.map(function (entry) {
      return h("span", { "data-key": entry[0] }, [s("svg", { class: "swatch", width: 9, height: 9, viewBox: "0 0 9 9" }, [s("rect", { width: 9, height: 9, rx: 2, fill: entry[1] })]) as unknown as HTMLElement, entry[0]]);
    })),
  ]);
}

/** Stacked bars per hour, one colour per key (event type or delivery outcome). */
export function barChart(chart: string, of: string, title: string, hours: string[], series: Record<string, number[]>, outcomes?: boolean): HTMLElement {
  const keys = Object.keys(series);
  const color = function (key: string, i: number): string { return (outcomes && OUTCOME_COLORS[key]) || PALETTE[i % PALETTE.length]!; };
  const totals = hours.map(function (_, i) { return keys.reduce(function (n, key) { return n + (series[key]![i] || 0); }, 0); });
  const max = Math.max(1, ...totals);
  const slot = WIDTH / hours.length;
  const bars: SVGElement[] = [];
  hours.forEach(function (hour, i) {
    let y = HEIGHT;
    keys.forEach(function (key, k) {
      const value = series[key]![i] || 0;
      if (!value) return;
      const height = Math.max(1, (value / max) * (HEIGHT - 4));
      y -= height;
      bars.push(s("rect", { x: (i * slot + 1).toFixed(1), y: y.toFixed(1), width: (slot - 2).toFixed(1), height: height.toFixed(1), fill: color(key, k), "data-series": key, "data-hour": hour, "data-value": value }, [tip(hourLabel(hour) + " " + key + ": " + value)]));
    });
  });
  const total = totals.reduce(function (a, b) { return a + b; }, 0);
  const svg = s("svg", { viewBox: "0 0 " + WIDTH + " " + (HEIGHT + 12), width: WIDTH, height: HEIGHT + 12, role: "img", "aria-label": title }, [
    s("line", { x1: 0, y1: HEIGHT + 0.5, x2: WIDTH, y2: HEIGHT + 0.5, stroke: "#d0d7de" }),
    ...bars,
    axis(hours),
  ]);
  return figure(chart, of, title + " — " + total + " in 24 h" + (total ? ", at most " + max + " an hour" : ""), svg, keys.map(function (key, k) { return [key, color(key, k)] as [string, string]; }));
}

/** Lines per hour (null: nothing that hour), sharing one scale. */
export function lineChart(chart: string, of: string, title: string, hours: string[], lines: Array<{ name: string; values: Array<number | null>; color: string }>, unit: string): HTMLElement {
  const max = Math.max(1, ...lines.flatMap(function (line) { return line.values.map(function (v) { return v || 0; }); }));
  const slot = WIDTH / hours.length;
  const x = function (i: number): number { return i * slot + slot / 2; };
  const y = function (v: number): number { return HEIGHT - (v / max) * (HEIGHT - 6) - 1; };
  const parts: SVGElement[] = [];
  for (const line of lines) {
    const points: string[] = [];
    line.values.forEach(function (value, i) {
      if (value === null) return;
      points.push(x(i).toFixed(1) + "," + y(value).toFixed(1));
      parts.push(s("circle", { cx: x(i).toFixed(1), cy: y(value).toFixed(1), r: 2.5, fill: line.color, "data-series": line.name, "data-hour": hours[i]!, "data-value": value }, [tip(hourLabel(hours[i]!) + " " + line.name + ": " + value + unit)]));
    });
    if (points.length > 1) parts.unshift(s("polyline", { points: points.join(" "), fill: "none", stroke: line.color, "stroke-width": 1.5, "data-series": line.name }));
  }
  const svg = s("svg", { viewBox: "0 0 " + WIDTH + " " + (HEIGHT + 12), width: WIDTH, height: HEIGHT + 12, role: "img", "aria-label": title }, [
    s("line", { x1: 0, y1: HEIGHT + 0.5, x2: WIDTH, y2: HEIGHT + 0.5, stroke: "#d0d7de" }),
    ...parts,
    axis(hours),
  ]);
  const latest = lines.map(function (line) {
    const last = line.values.filter(function (v) { return v !== null; }).pop();
    return line.name + " " + (last === undefined ? "—" : last + unit);
  }).join(", ");
  return figure(chart, of, title + " — last hour with data: " + latest + "; scale to " + max + unit, svg, lines.map(function (line) { return [line.name, line.color] as [string, string]; }));
}

function axis(hours: string[]): SVGElement {
  const slot = WIDTH / hours.length;
  const labels = [0, Math.floor(hours.length / 2), hours.length - 1].map(function (i) {
    const text = s("text", { x: (i * slot + slot / 2).toFixed(1), y: HEIGHT + 11, "font-size": 9, fill: "#656d76", "text-anchor": i === 0 ? "start" : i === hours.length - 1 ? "end" : "middle" });
    text.textContent = hourLabel(hours[i]!);
    return text;
  });
  return s("g", {}, labels);
}

/** The overview's charts: per source its events, per target its deliveries, backlog and latency. */
export function chartsSection(series: SeriesView): HTMLElement {
  const hours = series.hours;
  return h("section", { id: "charts" }, [
    h("h2", { text: "Last 24 hours (per hour, UTC)" }),
    h("div", { class: "charts" }, series.sources.map(function (source) {
      return h("div", { class: "chart-group", "data-source": source.name }, [h("h3", { text: source.name }), barChart("events", source.name, "events detected", hours, source.events)]);
    }).concat(series.targets.map(function (target) {
      return h("div", { class: "chart-group", "data-target": target.name }, [
        h("h3", { text: "→ " + target.name }),
        barChart("deliveries", target.name, "delivery attempts", hours, target.deliveries, true),
        lineChart("backlog", target.name, "backlog (most pending)", hours, [{ name: "pending", values: target.backlog, color: "#9a6700" }], ""),
        lineChart("latency", target.name, "attempt latency", hours, [{ name: "p50", values: target.latencyP50Ms, color: "#0969da" }, { name: "p99", values: target.latencyP99Ms, color: "#cf222e" }], " ms"),
      ]);
    }))),
  ]);
}
