/// <reference lib="dom" />
// Reference vs current histogram as SVG: paired bars per bin, the current one hatched, so the two differ in
// pattern as well as colour; every bar has a title with its share.
import { svg } from "./dom.ts";

const W = 380;
const H = 150;
const PAD_B = 34;

export function histogramSvg(
  column: string,
  labels: readonly string[],
  reference: readonly number[],
  current: readonly number[],
): SVGElement {
  const n = Math.max(1, labels.length);
  const max = Math.max(1e-9, ...reference, ...current);
  const slot = (W - 10) / n;
  const bar = Math.max(1, slot / 2 - 1);
  const root = svg("svg", {
    class: "hist",
    width: W,
    height: H,
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `Histogram of ${column}: reference (solid) vs current (hatched)`,
  });
  const id = `hatch-${column.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  root.append(
    svg(
      "defs",
      {},
      svg(
        "pattern",
        { id, width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        svg("rect", { width: 5, height: 5, fill: "#fbe3d6" }),
        svg("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke: "#c0501f", "stroke-width": 2 }),
      ),
    ),
  );
  const plotH = H - PAD_B;
  labels.forEach((label, i) => {
    const x = 5 + i * slot;
    for (const [k, share] of [
      [0, reference[i] ?? 0],
      [1, current[i] ?? 0],
    ] as const) {
      const hgt = (share / max) * (plotH - 10);
      root.append(
        svg(
          "rect",
          {
            x: x + k * (bar + 1),
            y: plotH - hgt,
            width: bar,
            height: hgt,
            class: k === 0 ? "ref" : "cur",
            ...(k === 1 && { fill: `url(#${id})` }),
          },
          svg("title", {}, `${k === 0 ? "reference" : "current"} ${label}: ${(share * 100).toFixed(1)}%`),
        ),
      );
    }
    if (n <= 12 || i % Math.ceil(n / 8) === 0)
      root.append(
        svg(
          "text",
          { x: x + slot / 2, y: plotH + 12, class: "axis", "text-anchor": "middle" },
          label.length > 10 ? `${label.slice(0, 9)}…` : label,
        ),
      );
  });
  root.append(svg("line", { x1: 0, y1: plotH, x2: W, y2: plotH, class: "baseline" }));
  root.append(
    svg("rect", { x: 5, y: H - 12, width: 10, height: 8, class: "ref" }),
    svg("text", { x: 18, y: H - 4, class: "axis" }, "reference"),
    svg("rect", { x: 90, y: H - 12, width: 10, height: 8, fill: `url(#${id})`, class: "cur" }),
    svg("text", { x: 103, y: H - 4, class: "axis" }, "current"),
  );
  return root;
}
