// Built-in `evaluate`: scores a produced or registered model on a table with the metrics of src/learn/metrics.ts.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import type { AutomlModel } from "../../automl/model.ts";
import type { Frame } from "../../learn/frame.ts";
import type { Workspace } from "../../workspace.ts";
import { readTable, tableDep } from "./frames.ts";
import type { BuiltinStep } from "./types.ts";

const schema = z
  .object({
    /** A model file (e.g. an automl step's output) or `registry:NAME@VERSION|ALIAS`. */
    model: z.string().min(1),
    /** `dataset:NAME@VERSION|latest` or a CSV/Parquet path. */
    data: z.string().min(1),
    /** Default: the model's own target. */
    target: z.string().optional(),
  })
  .strict();

export type EvaluateWith = z.input<typeof schema>;

export const evaluateStep: BuiltinStep<z.output<typeof schema>> = {
  name: "evaluate",
  version: "1",
  description: "score a model on a dataset version; writes its metrics",
  schema,
  io: (step, w) => ({
    deps: [
      ...(w.model.startsWith("registry:") ? [] : [{ kind: "path" as const, path: w.model }]),
      tableDep(w.data, `step "${step}" with.data`),
    ],
    outs: [],
    metrics: `build/${step}/metrics.json`,
  }),
  run: async (ctx, w, io) => {
    const model = await loadModel(ctx.workspace, ctx.cwd, w.model);
    const frame = await readTable(ctx.workspace, ctx.cwd, w.data);
    const metrics = await scoreModel(model, frame, w.target ?? model.target);
    ctx.log(
      `${Object.entries(metrics)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(", ")}`,
    );
    await writeFile(join(ctx.cwd, io.metrics as string), JSON.stringify(metrics));
  },
};

/** Reads an AutoML model from a project file or from the registry (`registry:NAME@VERSION|ALIAS`). */
export async function loadModel(ws: Workspace, cwd: string, ref: string): Promise<AutomlModel> {
  const { loadAutomlModel } = await import("../../automl/model.ts");
  if (!ref.startsWith("registry:")) return loadAutomlModel(await readFile(join(cwd, ref), "utf8"));
  const m = /^registry:([^@]+)@(.+)$/.exec(ref);
  if (!m?.[1] || !m[2])
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${ref}" must look like registry:NAME@VERSION or registry:NAME@ALIAS.`,
    );
  const { createRegistryService } = await import("../../registry/service.ts");
  const { createRegistryEvents } = await import("../../registry/events.ts");
  const registry = createRegistryService(
    { ...ws, events: createRegistryEvents() },
    { actor: ws.config.actor },
  );
  const version = await registry.getVersion(m[1], m[2]);
  if (version.blobId === null)
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `${m[1]} v${version.version} has no stored artifact to evaluate.`,
    );
  return loadAutomlModel((await ws.blobs.getBytes(version.blobId)).toString("utf8"));
}

/** Task-appropriate metrics: accuracy, F1, ROC AUC and log loss for classes; RMSE, MAE and R² for values. */
export async function scoreModel(
  model: AutomlModel,
  frame: Frame,
  target: string,
): Promise<Record<string, number>> {
  const m = await import("../../learn/metrics.ts");
  const { getColumn } = await import("../../learn/frame.ts");
  const column = getColumn(frame, target);
  if (model.task === "regression") {
    if (column.kind !== "numeric")
      throw new LoopmlError("INVALID_ARGUMENT", `Target "${target}" must be numeric for a regression model.`);
    const y = column.values;
    const pred = model.predict(frame);
    return { rmse: m.rmse(y, pred), mae: m.mae(y, pred), r2: m.r2(y, pred), rows: frame.nRows };
  }
  // Labels are matched by text, as AutoML named its classes; rows with an unknown label cannot be scored.
  const index = new Map(model.classes.map((c, i) => [c, i]));
  const label = (r: number): string | undefined =>
    column.kind === "numeric"
      ? Number.isNaN(column.values[r])
        ? undefined
        : String(column.values[r])
      : column.dictionary[column.codes[r] as number];
  const keep: number[] = [];
  const yAll: number[] = [];
  for (let r = 0; r < frame.nRows; r++) {
    const i = index.get(label(r) ?? "\0");
    if (i !== undefined) {
      keep.push(r);
      yAll.push(i);
    }
  }
  if (keep.length === 0)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `No row of "${target}" holds a class the model knows (${model.classes.slice(0, 10).join(", ")}).`,
    );
  const { takeRows } = await import("../../learn/frame.ts");
  const rows = keep.length === frame.nRows ? frame : takeRows(frame, Uint32Array.from(keep));
  const y = Float64Array.from(yAll);
  const pred = model.predict(rows);
  const proba = model.predictProba(rows);
  const k = model.classes.length;
  const out: Record<string, number> = {
    accuracy: m.accuracy(y, pred),
    log_loss: m.logLoss(y, proba),
    rows: rows.nRows,
  };
  if (k === 2) {
    const p1 = new Float64Array(rows.nRows);
    for (let r = 0; r < rows.nRows; r++) p1[r] = proba[2 * r + 1] as number;
    out["roc_auc"] = m.rocAuc(y, p1);
    out["f1"] = m.f1(y, pred);
  } else {
    out["roc_auc"] = m.rocAucOvr(y, proba, k);
    out["f1"] = m.f1(y, pred, { average: "macro" });
  }
  return out;
}
