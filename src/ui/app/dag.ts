/// <reference lib="dom" />
// A DAG drawn as SVG, laid out by level (columns) and order within the level (rows); nodes are keyboard buttons.
import { svg } from "./dom.ts";

export interface DagNode {
  id: string;
  level: number;
  /** First line: the name; the others are small print (status, timing…). */
  lines: string[];
  /** CSS class of the node's border (status); the text says the same thing. */
  tone: string;
  upstream: string[];
}

const W = 170;
const GAP_X = 60;
const LINE_H = 16;
const GAP_Y = 18;

export function drawDag(nodes: DagNode[], label: string, onPick?: (id: string) => void): SVGElement {
  const byLevel = new Map<number, DagNode[]>();
  for (const n of nodes) byLevel.set(n.level, [...(byLevel.get(n.level) ?? []), n]);
  const nodeH = 10 + LINE_H * Math.max(1, ...nodes.map((n) => n.lines.length));
  const pos = new Map<string, { x: number; y: number }>();
  for (const [level, list] of byLevel)
    list.forEach((n, i) => pos.set(n.id, { x: 10 + level * (W + GAP_X), y: 10 + i * (nodeH + GAP_Y) }));
  const width = 20 + Math.max(1, byLevel.size) * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...[...byLevel.values()].map((l) => l.length)) * (nodeH + GAP_Y) - GAP_Y;
  const root = svg("svg", {
    class: "dag",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "group",
    "aria-label": label,
  });
  root.append(
    svg(
      "defs",
      {},
      svg(
        "marker",
        {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 10,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto",
        },
        svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#667" }),
      ),
    ),
  );
  for (const n of nodes) {
    const to = pos.get(n.id)!;
    for (const u of n.upstream) {
      const from = pos.get(u);
      if (!from) continue;
      const x1 = from.x + W;
      const y1 = from.y + nodeH / 2;
      const x2 = to.x;
      const y2 = to.y + nodeH / 2;
      const mid = (x1 + x2) / 2;
      root.append(
        svg("path", {
          d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
          class: "edge",
          "marker-end": "url(#arrow)",
        }),
      );
    }
  }
  for (const n of nodes) {
    const p = pos.get(n.id)!;
    const g = svg("g", {
      class: `node ${n.tone}`,
      transform: `translate(${p.x},${p.y})`,
      "data-node": n.id,
      "aria-label": n.lines.join(", "),
      ...(onPick && { tabindex: 0, role: "button" }),
    });
    g.append(svg("rect", { width: W, height: nodeH, rx: 6 }));
    n.lines.forEach((line, i) =>
      g.append(
        svg(
          "text",
          { x: 8, y: 18 + i * LINE_H, class: i === 0 ? "title" : "small" },
          line.length > 26 ? `${line.slice(0, 25)}…` : line,
        ),
      ),
    );
    if (onPick) {
      g.addEventListener("click", () => onPick(n.id));
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          onPick(n.id);
        }
      });
    }
    root.append(g);
  }
  return root;
}
