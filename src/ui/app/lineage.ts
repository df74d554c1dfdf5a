/// <reference lib="dom" />
// A model version's lineage as a graph: dataset versions → pipeline steps → the tracked run → the model version.
// Enter (or a click) on a dataset or step opens it on its own page.
import { api } from "./api.ts";
import { drawDag, type DagNode } from "./dag.ts";
import { h } from "./dom.ts";

interface Lineage {
  model: string;
  version: number;
  artifact: { blobId: string | null; source: string; flavor: string | null };
  codeVersion: string | null;
  pipelineRun: string | null;
  run: { id: string; status: string; gitCommit: string | null; params: Record<string, string> } | null;
  datasets: Array<{ dataset: string; version: string; context: string }>;
}
interface PipelineRun {
  id: string;
  pipeline: string;
  steps: Array<{ name: string; level: number; upstream: string[]; status: string; cacheHit: boolean }>;
}

export async function lineageGraph(model: string, version: number): Promise<HTMLElement> {
  const l = await api<Lineage>(
    "GET",
    `/api/v1/models/${encodeURIComponent(model)}/versions/${version}/lineage`,
  );
  const pipeline = l.pipelineRun
    ? await api<PipelineRun>("GET", `/api/v1/ui/pipelines/runs/${encodeURIComponent(l.pipelineRun)}`).catch(
        () => null, // the pipeline run was recorded elsewhere (another store): show what is known
      )
    : null;
  const nodes: DagNode[] = [];
  const links = new Map<string, string>();
  const datasetIds = l.datasets.map((d) => `dataset:${d.dataset}@${d.version}`);
  l.datasets.forEach((d, i) => {
    nodes.push({
      id: datasetIds[i]!,
      level: 0,
      upstream: [],
      tone: "t-info",
      lines: [`${d.dataset}@${d.version}`, `dataset · ${d.context}`],
    });
    links.set(datasetIds[i]!, `#/data/${encodeURIComponent(d.dataset)}`);
  });
  let level = 1;
  let feeding = datasetIds;
  if (pipeline) {
    const ids = (s: string) => `step:${s}`;
    for (const s of pipeline.steps) {
      nodes.push({
        id: ids(s.name),
        level: 1 + s.level,
        upstream: s.level === 0 ? datasetIds : s.upstream.map(ids),
        tone: s.status === "failed" ? "t-bad" : "t-ok",
        lines: [s.name, `step · ${s.status}${s.cacheHit ? " (cache hit)" : ""}`],
      });
      links.set(ids(s.name), `#/pipelines/${encodeURIComponent(pipeline.id)}`);
    }
    const downstream = new Set(pipeline.steps.flatMap((s) => s.upstream));
    feeding = pipeline.steps.filter((s) => !downstream.has(s.name)).map((s) => ids(s.name));
    level = 2 + Math.max(0, ...pipeline.steps.map((s) => s.level));
  } else if (l.pipelineRun) {
    nodes.push({
      id: "pipeline",
      level,
      upstream: datasetIds,
      tone: "t-muted",
      lines: [`pipeline run ${l.pipelineRun.slice(0, 10)}`, "not in this store"],
    });
    feeding = ["pipeline"];
    level++;
  }
  if (l.run) {
    nodes.push({
      id: "run",
      level,
      upstream: feeding,
      tone: "t-ok",
      lines: [
        `run ${l.run.id.slice(0, 10)}`,
        `tracked · ${l.run.status}`,
        l.run.gitCommit ? `git ${l.run.gitCommit.slice(0, 8)}` : "",
      ],
    });
    feeding = ["run"];
    level++;
  }
  nodes.push({
    id: "model",
    level,
    upstream: feeding,
    tone: "t-ok",
    lines: [
      `${l.model} v${l.version}`,
      `model · ${l.artifact.flavor ?? "unknown flavor"}`,
      l.codeVersion ? `code ${l.codeVersion.slice(0, 8)}` : "",
    ],
  });
  const graph = drawDag(nodes, `Lineage of ${l.model} version ${l.version}`, (id) => {
    const href = links.get(id);
    if (href) location.hash = href;
  });
  return h(
    "div",
    { class: "scroll-x", id: "lineage" },
    graph,
    nodes.length === 1
      ? h("p", { class: "muted" }, "This version records no run, pipeline or dataset.")
      : null,
  );
}
