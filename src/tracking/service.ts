// The tracking service: experiments, runs, params, metric series with summaries, inputs, artifacts, search and compare.
import { LoopmlError } from "../errors.ts";
import { canonicalJson } from "../_internal/hash.ts";
import type { Workspace } from "../workspace.ts";
import { createArtifactOps, type ArtifactOps } from "./artifacts.ts";
import { createLifecycleOps, type LifecycleOps } from "./lifecycle.ts";
import { writeMetrics, writeParams, writeTags } from "./batch.ts";
import { checkColumns, columnsFromPoints, concatColumns } from "./columns.ts";
import { detectCodeVersion, type CodeVersion } from "./git.ts";
import { loadRuns, requireRun } from "./read.ts";
import { createRunHandle, type RunHandle, type RunHandleOptions, type RunSink } from "./run-handle.ts";
import { pointFromRow, experimentFromRow, runInfoFromRow } from "./rows.ts";
import { encodePageToken, searchReads, searchRunIds } from "./search.ts";
import {
  RUN_STATUSES,
  type Experiment,
  type LogBatch,
  type MetricPoint,
  type Run,
  type RunComparison,
  type RunInfo,
  type RunStatus,
  type RunsPage,
  type SearchRunsQuery,
} from "./types.ts";
import { MAX_PARAM_VALUE, MAX_TAG_VALUE, checkKeyValues, checkMetrics, parseDatasetRef } from "./validate.ts";

export type TrackingDeps = Pick<Workspace, "store" | "blobs" | "audit" | "clock" | "ids" | "config">;

export interface CreateRunOptions {
  /** Experiment id or name; created when a name does not exist yet. Default: experiment "0". */
  readonly experiment?: string;
  readonly name?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly parentRunId?: string;
  readonly startTime?: number;
  /** Detected from the project's git work tree when absent; null records none. */
  readonly code?: CodeVersion | null;
  readonly userId?: string;
}

export interface TrackingService extends ArtifactOps, LifecycleOps {
  createExperiment(
    name: string,
    options?: { tags?: Record<string, string>; artifactLocation?: string },
  ): Promise<Experiment>;
  /** By id or by name. */
  getExperiment(idOrName: string): Promise<Experiment>;
  listExperiments(options?: { includeDeleted?: boolean }): Promise<Experiment[]>;
  createRun(options?: CreateRunOptions): Promise<RunInfo>;
  getRun(id: string): Promise<Run>;
  updateRun(
    id: string,
    change: { status?: RunStatus; endTime?: number | null; name?: string },
  ): Promise<RunInfo>;
  deleteRun(id: string): Promise<void>;
  logBatch(runId: string, batch: LogBatch): Promise<void>;
  logInputs(runId: string, refs: readonly string[], context?: string): Promise<void>;
  metricHistory(runId: string, key: string): Promise<MetricPoint[]>;
  searchRuns(query?: SearchRunsQuery): Promise<RunsPage>;
  countRuns(experiment: string): Promise<number>;
  compareRuns(ids: readonly string[]): Promise<RunComparison>;
  /**
   * @example
   * const run = await tracking.startRun({ experiment: "churn" });
   * await run.logMetrics({ auc: 0.91 });
   * await run.end();
   */
  startRun(options?: CreateRunOptions & RunHandleOptions): Promise<RunHandle>;
  /** Runs `fn` with a fresh run that ends FINISHED, or FAILED (and rethrows) when `fn` throws. */
  withRun<T>(options: CreateRunOptions & RunHandleOptions, fn: (run: RunHandle) => Promise<T>): Promise<T>;
}

/**
 * @example
 * const tracking = createTrackingService(ws);
 * await tracking.withRun({ experiment: "churn" }, async (run) => run.logParams({ depth: 6 }));
 */
export function createTrackingService(deps: TrackingDeps, options: { actor?: string } = {}): TrackingService {
  const { store, audit, clock, ids } = deps;
  const actor = options.actor ?? deps.config.actor;

  async function findExperiment(idOrName: string): Promise<Experiment | undefined> {
    const row =
      (await store.db.selectFrom("experiments").selectAll().where("id", "=", idOrName).executeTakeFirst()) ??
      (await store.db.selectFrom("experiments").selectAll().where("name", "=", idOrName).executeTakeFirst());
    return row ? experimentFromRow(row) : undefined;
  }

  async function getExperiment(idOrName: string): Promise<Experiment> {
    const e = await findExperiment(idOrName);
    if (e) return e;
    const known = await store.db.selectFrom("experiments").select("name").orderBy("name").limit(20).execute();
    throw new LoopmlError(
      "NOT_FOUND",
      `Experiment "${idOrName}" does not exist. Known experiments: ${known.map((k) => k.name).join(", ")}. Create it with loopml experiments create ${idOrName}.`,
      { experiment: idOrName, known: known.map((k) => k.name) },
    );
  }

  async function createExperiment(
    name: string,
    opts: { tags?: Record<string, string>; artifactLocation?: string } = {},
  ): Promise<Experiment> {
    if (typeof name !== "string" || name.trim() === "" || name.length > 500) {
      throw new LoopmlError("INVALID_ARGUMENT", "An experiment needs a name of 1–500 characters.");
    }
    checkKeyValues(
      "Experiment tag",
      Object.entries(opts.tags ?? {}).map(([key, value]) => ({ key, value })),
      MAX_TAG_VALUE,
    );
    const id = ids.next();
    const now = clock.now();
    const row = {
      id,
      name,
      artifact_location: opts.artifactLocation ?? `loopml-artifacts:/${id}`,
      lifecycle_stage: "active" as const,
      tags: canonicalJson(opts.tags ?? {}),
      created_at: now,
      updated_at: now,
    };
    await store.transaction(async (tx) => {
      const clash = await tx
        .selectFrom("experiments")
        .select("id")
        .where("name", "=", name)
        .executeTakeFirst();
      if (clash) {
        throw new LoopmlError("ALREADY_EXISTS", `Experiment "${name}" already exists (id ${clash.id}).`, {
          experiment: name,
          id: clash.id,
        });
      }
      await tx.insertInto("experiments").values(row).execute();
      await audit.append(tx, {
        actor,
        action: "experiment.create",
        target: `experiment:${id}`,
        details: { name },
      });
    });
    return experimentFromRow(row);
  }

  async function resolveExperimentForRun(ref: string | undefined): Promise<Experiment> {
    if (ref === undefined) return getExperiment("0");
    const found = await findExperiment(ref);
    if (found) return found;
    try {
      return await createExperiment(ref);
    } catch (e) {
      // Two runs starting at once may both try to create it: the loser reads the winner's.
      if (e instanceof LoopmlError && e.code === "ALREADY_EXISTS") return getExperiment(ref);
      throw e;
    }
  }

  async function createRun(opts: CreateRunOptions = {}): Promise<RunInfo> {
    const experiment = await resolveExperimentForRun(opts.experiment);
    if (experiment.lifecycleStage !== "active") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `Experiment "${experiment.name}" is deleted; restore it or use another one.`,
      );
    }
    const tags = Object.entries(opts.tags ?? {}).map(([key, value]) => ({ key, value }));
    checkKeyValues("Tag", tags, MAX_TAG_VALUE);
    const code = opts.code === undefined ? detectCodeVersion(deps.config.projectDir) : opts.code;
    const id = ids.next();
    const row = {
      id,
      experiment_id: experiment.id,
      name: opts.name ?? `run-${id.slice(-8)}`,
      status: "RUNNING" as const,
      lifecycle_stage: "active" as const,
      start_time: opts.startTime ?? clock.now(),
      end_time: null,
      parent_run_id: opts.parentRunId ?? null,
      git_commit: code?.commit ?? null,
      git_dirty: code ? (code.dirty ? 1 : 0) : null,
      user_id: opts.userId ?? actor,
    };
    await store.transaction(async (tx) => {
      if (opts.parentRunId !== undefined) await requireRun(tx, opts.parentRunId);
      await tx.insertInto("runs").values(row).execute();
      await writeTags(tx, id, tags);
      await audit.append(tx, {
        actor,
        action: "run.create",
        target: `run:${id}`,
        details: {
          experiment: experiment.id,
          name: row.name,
          parent: row.parent_run_id,
          commit: row.git_commit,
        },
      });
    });
    return runInfoFromRow(row);
  }

  async function getRun(id: string): Promise<Run> {
    await requireRun(store.db, id);
    const [run] = await loadRuns(store.db, [id], store.dialect);
    return run as Run;
  }

  async function updateRun(
    id: string,
    change: { status?: RunStatus; endTime?: number | null; name?: string },
  ): Promise<RunInfo> {
    if (change.status !== undefined && !RUN_STATUSES.includes(change.status)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Run status "${String(change.status)}" is not one of ${RUN_STATUSES.join(", ")}.`,
      );
    }
    return store.transaction(async (tx) => {
      const before = await requireRun(tx, id);
      const terminal =
        change.status !== undefined && change.status !== "RUNNING" && change.status !== "SCHEDULED";
      const set = {
        ...(change.status !== undefined && { status: change.status }),
        ...(change.name !== undefined && { name: change.name }),
        ...(change.endTime !== undefined
          ? { end_time: change.endTime }
          : terminal && before.end_time === null && { end_time: clock.now() }),
      };
      // Nothing to change (e.g. PATCH with {}): an empty UPDATE is invalid SQL, and there is nothing to audit.
      if (Object.keys(set).length === 0) return runInfoFromRow(before);
      await tx.updateTable("runs").set(set).where("id", "=", id).execute();
      await audit.append(tx, {
        actor,
        action: "run.update",
        target: `run:${id}`,
        details: { before: { status: before.status, name: before.name }, after: set },
      });
      return runInfoFromRow({ ...before, ...set });
    });
  }

  async function deleteRun(id: string): Promise<void> {
    await store.transaction(async (tx) => {
      await requireRun(tx, id);
      await tx.updateTable("runs").set({ lifecycle_stage: "deleted" }).where("id", "=", id).execute();
      await audit.append(tx, { actor, action: "run.delete", target: `run:${id}` });
    });
  }

  async function logBatch(runId: string, batch: LogBatch): Promise<void> {
    const listed = batch.metrics ?? [];
    const params = batch.params ?? [];
    const tags = batch.tags ?? [];
    checkMetrics(listed);
    if (batch.points) checkColumns(batch.points);
    checkKeyValues("Param", params, MAX_PARAM_VALUE);
    checkKeyValues("Tag", tags, MAX_TAG_VALUE);
    const now = clock.now();
    const listedColumns = columnsFromPoints(listed, now);
    const points = batch.points ? concatColumns(listedColumns, batch.points) : listedColumns;
    const metrics = points.key.length;
    if (metrics + params.length + tags.length === 0) return;
    await store.transaction(async (tx) => {
      const run = await requireRun(tx, runId);
      if (run.lifecycle_stage !== "active") {
        throw new LoopmlError("FAILED_PRECONDITION", `Run ${runId} is deleted; nothing can be logged to it.`);
      }
      const newParams = await writeParams(tx, runId, params);
      await writeTags(tx, runId, tags);
      const metricKeys = await writeMetrics(tx, store, runId, points);
      await audit.append(tx, {
        actor,
        action: "run.log-batch",
        target: `run:${runId}`,
        details: { metrics, params: newParams, tags: tags.length, metricKeys: metricKeys.slice(0, 50) },
      });
    });
  }

  async function logInputs(runId: string, refs: readonly string[], context = "training"): Promise<void> {
    const parsed = refs.map(parseDatasetRef);
    await store.transaction(async (tx) => {
      await requireRun(tx, runId);
      for (const p of parsed) {
        await tx
          .insertInto("run_inputs")
          .values({ run_id: runId, dataset: p.dataset, version: p.version, context })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      await audit.append(tx, {
        actor,
        action: "run.log-inputs",
        target: `run:${runId}`,
        details: { inputs: refs, context },
      });
    });
  }

  async function metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    await requireRun(store.db, runId);
    const rows = await store.db
      .selectFrom("run_metrics")
      .selectAll()
      .where("run_id", "=", runId)
      .where("key", "=", key)
      .orderBy("step")
      .orderBy("timestamp")
      .execute();
    return rows.map(pointFromRow);
  }

  async function searchRuns(query: SearchRunsQuery = {}): Promise<RunsPage> {
    const experimentIds =
      query.experiments === undefined
        ? undefined
        : await Promise.all(query.experiments.map(async (e) => (await getExperiment(e)).id));
    return searchReads(store.db, store.dialect, async (db) => {
      const page = await searchRunIds(db, store.dialect, {
        ...query,
        ...(experimentIds !== undefined && { experimentIds }),
      });
      const runs = await loadRuns(db, page.ids, store.dialect);
      return page.next !== undefined ? { runs, nextPageToken: encodePageToken(page.next) } : { runs };
    });
  }

  async function countRuns(experiment: string): Promise<number> {
    const e = await getExperiment(experiment);
    // Kept by triggers on runs (migration 0011): one row, whatever the number of runs.
    const row = await store.db
      .selectFrom("experiment_run_counts")
      .select("active_runs")
      .where("experiment_id", "=", e.id)
      .executeTakeFirst();
    return Number(row?.active_runs ?? 0);
  }

  async function compareRuns(runIds: readonly string[]): Promise<RunComparison> {
    if (runIds.length < 1) throw new LoopmlError("INVALID_ARGUMENT", "Give at least one run id to compare.");
    for (const id of runIds) await requireRun(store.db, id);
    const runs = await loadRuns(store.db, runIds, store.dialect);
    const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
    const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
    return {
      runs: runs.map((r) => r.info),
      params: paramKeys.map((key) => {
        const values = runs.map((r) => r.params[key] ?? null);
        return { key, values, differs: new Set(values).size > 1 };
      }),
      metrics: metricKeys.map((key) => ({
        key,
        last: runs.map((r) => r.metrics[key]?.last ?? null),
        min: runs.map((r) => r.metrics[key]?.min ?? null),
        max: runs.map((r) => r.metrics[key]?.max ?? null),
      })),
    };
  }

  const artifacts = createArtifactOps(deps, actor);

  const sink: RunSink = {
    logBatch,
    endRun: async (id, status) => {
      await updateRun(id, { status });
    },
    logArtifact: (id, path, as) => artifacts.logArtifact(id, path, as),
    logInputs,
  };

  async function startRun(opts: CreateRunOptions & RunHandleOptions = {}): Promise<RunHandle> {
    const info = await createRun(opts);
    return createRunHandle(
      sink,
      { id: info.id, experimentId: info.experimentId },
      {
        ...opts,
        now: opts.now ?? (() => clock.now()),
      },
    );
  }

  async function withRun<T>(
    opts: CreateRunOptions & RunHandleOptions,
    fn: (run: RunHandle) => Promise<T>,
  ): Promise<T> {
    const run = await startRun(opts);
    let result: T;
    try {
      result = await fn(run);
    } catch (e) {
      await run.end("FAILED").catch(() => undefined);
      throw e;
    }
    await run.end("FINISHED");
    return result;
  }

  return {
    createExperiment,
    getExperiment,
    listExperiments: async (o = {}) => {
      let q = store.db.selectFrom("experiments").selectAll().orderBy("created_at").orderBy("id");
      if (!o.includeDeleted) q = q.where("lifecycle_stage", "=", "active");
      return (await q.execute()).map(experimentFromRow);
    },
    createRun,
    getRun,
    updateRun,
    deleteRun,
    logBatch,
    logInputs,
    metricHistory,
    searchRuns,
    countRuns,
    compareRuns,
    startRun,
    withRun,
    ...artifacts,
    ...createLifecycleOps(deps, actor),
  };
}
