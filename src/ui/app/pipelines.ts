/// <reference lib="dom" />
// Pipelines page: pipeline runs, and for one run its DAG (by topological level) with each step's status, cache
// hit and duration, a step table, and the captured log of the step picked in either.
import { api } from "./api.ts";
import { drawDag } from "./dag.ts";
import { badge, errorBox, fmtDuration, fmtTime, h, table } from "./dom.ts";

interface RunRow {
  id: string;
  pipeline: string;
  status: string;
  actor: string;
  startedAt: number;
  endedAt: number | null;
  steps: Record<string, number>;
  cacheHits: number;
}
interface Step {
  name: string;
  level: number;
  upstream: string[];
  command: string;
  status: string;
  cacheHit: boolean;
  attempts: number;
  durationMs: number | null;
  error: string | null;
  hasLog: boolean;
}
interface RunDetail extends Omit<RunRow, "steps"> {
  version: string;
  error: string | null;
  steps: Step[];
}

const TONES: Record<string, string> = { succeeded: "t-ok", cached: "t-info", failed: "t-bad" };

export async function pipelinesPage(root: HTMLElement, selected?: string): Promise<void> {
  const { runs } = await api<{ runs: RunRow[] }>("GET", "/api/v1/ui/pipelines/runs?limit=100");
  const detail = h("div", { id: "pipeline-detail" });
  root.replaceChildren(
    h("h1", {}, "Pipelines"),
    runs.length === 0
      ? h("p", { class: "muted" }, "No pipeline runs yet. Start one with loopml run PIPELINE.")
      : table(
          "pipeline-runs",
          `${runs.length} most recent pipeline runs`,
          ["run", "pipeline", "status", "steps", "cache hits", "started", "duration", "by"],
          runs.map((r) => [
            h("a", { href: `#/pipelines/${encodeURIComponent(r.id)}` }, r.id.slice(0, 12)),
            r.pipeline,
            badge(r.status),
            Object.entries(r.steps)
              .map(([s, n]) => `${n} ${s}`)
              .join(", "),
            String(r.cacheHits),
            fmtTime(r.startedAt),
            r.endedAt === null ? "running" : fmtDuration(r.endedAt - r.startedAt),
            r.actor,
          ]),
        ),
    detail,
  );
  const id = selected ?? runs[0]?.id;
  if (id) await runDetail(detail, id);
}

async function runDetail(box: HTMLElement, id: string): Promise<void> {
  const enc = encodeURIComponent(id);
  const run = await api<RunDetail>("GET", `/api/v1/ui/pipelines/runs/${enc}`);
  const logBox = h("section", { class: "card", id: "step-log", "aria-live": "polite" });
  async function showLog(step: string): Promise<void> {
    logBox.replaceChildren(h("h3", {}, `Log of ${step}`), h("p", { class: "muted" }, "Loading…"));
    try {
      const r = await api<{ log: string; bytes: number; truncated: boolean; cacheHit: boolean }>(
        "GET",
        `/api/v1/ui/pipelines/runs/${enc}/steps/${encodeURIComponent(step)}/log`,
      );
      logBox.replaceChildren(
        h("h3", {}, `Log of ${step}`),
        h(
          "p",
          { class: "muted" },
          r.bytes === 0
            ? r.cacheHit
              ? "Restored from the cache: the step did not run, so it printed nothing."
              : "The step printed nothing."
            : `${r.bytes} bytes${r.truncated ? " (the end is shown)" : ""}`,
        ),
      );
      if (r.bytes > 0) logBox.append(h("pre", { class: "log", tabindex: "0" }, r.log));
    } catch (e) {
      logBox.replaceChildren(errorBox(e));
    }
  }
  const dag = drawDag(
    run.steps.map((s) => ({
      id: s.name,
      level: s.level,
      upstream: s.upstream,
      tone: TONES[s.status] ?? "t-muted",
      lines: [
        s.name,
        `${s.status === "succeeded" ? "✓" : s.status === "failed" ? "✗" : s.status === "cached" ? "↺" : "–"} ${s.status}${s.cacheHit ? " (cache hit)" : ""}`,
        s.durationMs === null ? "" : fmtDuration(s.durationMs),
      ],
    })),
    `DAG of pipeline run ${run.id}: press Enter on a step to see its log`,
    (step) => void showLog(step),
  );
  box.replaceChildren(
    h(
      "section",
      { class: "card" },
      h("h2", {}, `${run.pipeline} · run ${run.id.slice(0, 12)} `, badge(run.status)),
      h(
        "p",
        { class: "muted" },
        `version ${run.version.slice(0, 12)} · started ${fmtTime(run.startedAt)} by ${run.actor}`,
        run.endedAt === null ? "" : ` · took ${fmtDuration(run.endedAt - run.startedAt)}`,
      ),
      run.error ? errorBox(new Error(run.error)) : null,
      h("div", { class: "scroll-x", id: "dag" }, dag),
      table(
        "pipeline-steps",
        "Steps (in topological order)",
        ["step", "level", "status", "cache", "duration", "attempts", "command", "log"],
        run.steps.map((s) => [
          s.name,
          String(s.level),
          badge(s.status),
          s.cacheHit ? "hit" : s.status === "not run" ? "" : "miss",
          fmtDuration(s.durationMs),
          String(s.attempts),
          h("code", {}, s.command),
          s.status === "not run"
            ? ""
            : h("button", { onclick: () => void showLog(s.name) }, `Log of ${s.name}`),
        ]),
      ),
      ...run.steps.filter((s) => s.error).map((s) => h("p", { class: "error" }, `${s.name}: ${s.error!}`)),
      logBox,
    ),
  );
}
