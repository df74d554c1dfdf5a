// Human-readable leaderboard and problem summary, shared by the CLI and library users.
import type { AutomlResult } from "./automl.ts";
import type { LeaderboardEntry } from "./types.ts";

/**
 * The leaderboard as a plain-text table, best first.
 *
 * @example
 * console.log(formatLeaderboard(result, 10));
 */
export function formatLeaderboard(result: Pick<AutomlResult, "leaderboard" | "problem">, limit = 10): string {
  const header = [
    "rank",
    "trial",
    "learner",
    result.problem.metric,
    "± spread",
    "rows",
    "fit s",
    "predict µs/row",
    "params",
  ];
  const rows = result.leaderboard
    .slice(0, limit)
    .map((e) => [
      String(e.rank),
      e.trial === 0 ? "-" : String(e.trial),
      e.learner,
      e.score.toFixed(4),
      e.spread === null ? "-" : e.spread.toFixed(4),
      String(e.sampleSize),
      e.fitSeconds.toFixed(2),
      e.predictMicrosPerRow.toFixed(2),
      formatParams(e),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** What was decided before the search: task, metric, validation and the columns left out, with reasons. */
export function formatProblem(result: Pick<AutomlResult, "problem">): string {
  const p = result.problem;
  const lines = [
    `task        ${p.task}${p.classes.length > 0 ? ` (${p.classes.length} classes: ${p.classes.slice(0, 6).join(", ")}${p.classes.length > 6 ? ", …" : ""})` : ""}`,
    `metric      ${p.metric}`,
    `validation  ${p.validation.reason}`,
    `features    ${p.features.length}: ${p.features.join(", ")}`,
  ];
  if (p.rowsWithoutTarget > 0) lines.push(`skipped     ${p.rowsWithoutTarget} rows without a target`);
  for (const d of p.dropped) lines.push(`dropped     ${d.name}: ${d.reason}`);
  return lines.join("\n");
}

function formatParams(e: LeaderboardEntry): string {
  if (e.learner === "ensemble") {
    const { members } = e.params as { members: readonly { trial: number; weight: number }[] };
    return members.map((m) => `#${m.trial}×${m.weight.toFixed(2)}`).join(" ");
  }
  return Object.entries(e.params)
    .filter(([k]) => !(k === "maxDepth" && e.learner === "gbdt-leafwise") && k !== "maxIterations")
    .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(3)) : String(v)}`)
    .join(" ");
}
