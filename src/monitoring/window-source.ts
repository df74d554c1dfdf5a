// Where a monitor's current window comes from: the model's inference log, or the newest version of a dataset.
import { LoopmlError } from "../errors.ts";
import { createDeploymentService, splitModelRef } from "../serving/deployments.ts";
import { readInferenceLog } from "../serving/inference-log.ts";
import type { Workspace } from "../workspace.ts";
import type { CurrentColumn } from "./check-column.ts";
import type { WindowData } from "./check.ts";
import { parseSpan, type MonitorSpec } from "./monitor-spec.ts";
import { readDatasetFrame } from "./reference-store.ts";

export interface LoadedWindow {
  readonly data: WindowData;
  /** e.g. "model:churn" or "dataset:flights@5". */
  readonly source: string;
  /** Oldest and newest prediction time in the window (null for dataset windows). */
  readonly start: number | null;
  readonly end: number | null;
  /** Inference-log windows only: for joining late labels. */
  readonly model?: string;
  readonly requestIds?: readonly string[];
  readonly versions?: Int32Array;
  readonly probabilities?: Float64Array;
}

/** The registered model a deployment serves (its spec's "name@alias"), from the deployment service (contract 3). */
async function modelOfDeployment(ws: Workspace, deployment: string): Promise<string> {
  return splitModelRef((await createDeploymentService(ws).get(deployment)).model).model;
}

export async function modelOf(ws: Workspace, spec: MonitorSpec): Promise<string | undefined> {
  if (spec.model !== undefined) return spec.model.split("@")[0];
  if (spec.deployment !== undefined) return modelOfDeployment(ws, spec.deployment);
  return undefined;
}

export async function loadWindow(ws: Workspace, spec: MonitorSpec): Promise<LoadedWindow> {
  const model = await modelOf(ws, spec);
  if (model !== undefined) {
    const now = ws.clock.now();
    const log = await readInferenceLog(ws, {
      model,
      ...(spec.window.span !== undefined && { since: now - parseSpan(spec.window.span), until: now + 1 }),
      ...(spec.window.rows !== undefined && { limit: spec.window.rows }),
    });
    return {
      data: { rows: log.rows, columns: log.columns, predictions: log.predictions },
      source: `model:${model}`,
      start: log.rows > 0 ? log.ts[0]! : null,
      end: log.rows > 0 ? log.ts[log.rows - 1]! : null,
      model,
      requestIds: log.requestIds,
      versions: log.versions,
      ...(log.probabilities && { probabilities: log.probabilities }),
    };
  }
  if (spec.dataset === undefined) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Monitor "${spec.name}" watches nothing: set model, deployment or dataset.`,
    );
  }
  const { frame, version } = await readDatasetFrame(ws, spec.dataset);
  const take = Math.min(frame.nRows, spec.window.rows ?? frame.nRows);
  const from = frame.nRows - take;
  const columns: Record<string, CurrentColumn> = {};
  for (const c of frame.columns) {
    columns[c.name] =
      c.kind === "numeric"
        ? c.values.subarray(from)
        : { codes: c.codes.subarray(from), dictionary: c.dictionary };
  }
  return { data: { rows: take, columns }, source: `dataset:${version}`, start: null, end: null };
}
