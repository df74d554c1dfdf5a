/// <reference lib="dom" />
// Parallel coordinates (SVG) over runs' params and last metric values, for sweeps and AutoML leaderboards:
// one vertical axis per key (numeric scaled to its range, text values spread evenly), one line per run, shaded
// by the chosen metric. Each line has a title; the params diff table beside it says the same in text.
import { fmtNumber, svg } from "./dom.ts";

export interface ParRun {
  name: string;
  values: Record<string, string | number | undefined>;
}

interface Axis {
  key: string;
  pos(v: string | number | undefined): number | null;
  ticks: Array<[string, number]>;
}

const H = 300;
const TOP = 24;
const BOTTOM = 30;
const STEP = 130;

function axisFor(key: string, values: Array<string | number | undefined>): Axis {
  const present = values.filter((v): v is string | number => v !== undefined && v !== "");
  const nums = present.map(Number);
  const span = H - TOP - BOTTOM;
  if (present.length > 0 && nums.every(Number.isFinite)) {
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    const y = (v: number) => TOP + span - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * span;
    return {
      key,
      pos: (v) => (v === undefined || v === "" || !Number.isFinite(Number(v)) ? null : y(Number(v))),
      ticks:
        hi === lo
          ? [[fmtNumber(lo), y(lo)]]
          : [
              [fmtNumber(hi), y(hi)],
              [fmtNumber(lo), y(lo)],
            ],
    };
  }
  const cats = [...new Set(present.map(String))].sort();
  const y = (i: number) => TOP + (cats.length === 1 ? span / 2 : (i / (cats.length - 1)) * span);
  return {
    key,
    pos: (v) => (v === undefined ? null : cats.includes(String(v)) ? y(cats.indexOf(String(v))) : null),
    ticks: cats.slice(0, 8).map((c, i) => [c, y(i)]),
  };
}

/** `keys` in axis order; `colourBy` (one of them) shades the lines from light (low) to dark (high). */
export function parallelCoordinates(runs: ParRun[], keys: string[], colourBy?: string): SVGElement {
  const axes = keys.map((k) =>
    axisFor(
      k,
      runs.map((r) => r.values[k]),
    ),
  );
  const width = 60 + Math.max(1, axes.length - 1) * STEP + 60;
  const root = svg("svg", {
    class: "parcoords",
    width,
    height: H,
    viewBox: `0 0 ${width} ${H}`,
    role: "img",
    "aria-label": `Parallel coordinates of ${runs.length} runs over ${keys.join(", ")}`,
  });
  const shade = colourBy ? axes[keys.indexOf(colourBy)] : undefined;
  const x = (i: number) => 60 + i * STEP;
  for (const r of runs) {
    const points = axes.flatMap((a, i) => {
      const y = a.pos(r.values[a.key]);
      return y === null ? [] : [`${x(i)},${y.toFixed(1)}`];
    });
    // Dark lines are high values of the shading key: position on its axis, not colour alone, carries the value.
    const t = shade ? shade.pos(r.values[shade.key]) : null;
    const darkness = t === null ? 0.5 : 1 - (t - TOP) / (H - TOP - BOTTOM);
    root.append(
      svg(
        "polyline",
        {
          points: points.join(" "),
          class: "pc-line",
          stroke: `hsl(215, 70%, ${Math.round(75 - darkness * 50)}%)`,
          "data-run": r.name,
        },
        svg("title", {}, `${r.name}: ${keys.map((k) => `${k}=${r.values[k] ?? "—"}`).join(", ")}`),
      ),
    );
  }
  axes.forEach((a, i) => {
    root.append(svg("line", { x1: x(i), y1: TOP, x2: x(i), y2: H - BOTTOM, class: "pc-axis" }));
    root.append(
      svg(
        "text",
        { x: x(i), y: H - 10, "text-anchor": "middle", class: "axis title" },
        a.key.length > 18 ? `${a.key.slice(0, 17)}…` : a.key,
      ),
    );
    for (const [label, y] of a.ticks)
      root.append(
        svg(
          "text",
          { x: x(i) + 4, y: y - 3, class: "axis" },
          label.length > 12 ? `${label.slice(0, 11)}…` : label,
        ),
      );
  });
  return root;
}
