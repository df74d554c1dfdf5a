// Experiment and run lifecycle edits: rename, delete/restore, experiment tags, run tag removal (each audited).
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { TrackingDeps } from "./service.ts";
import { requireRun } from "./read.ts";
import { experimentFromRow } from "./rows.ts";
import type { Experiment, LifecycleStage } from "./types.ts";
import { MAX_TAG_VALUE, checkKey, checkKeyValues } from "./validate.ts";

export interface LifecycleOps {
  renameExperiment(id: string, name: string): Promise<Experiment>;
  /** Deleted experiments keep their runs; they leave listings and accept no new runs until restored. */
  setExperimentStage(id: string, stage: LifecycleStage): Promise<Experiment>;
  setExperimentTag(id: string, key: string, value: string): Promise<Experiment>;
  restoreRun(id: string): Promise<void>;
  deleteRunTag(runId: string, key: string): Promise<void>;
}

export function createLifecycleOps(deps: TrackingDeps, actor: string): LifecycleOps {
  const { store, audit, clock } = deps;

  async function editExperiment(
    id: string,
    action: string,
    change: (row: { name: string; tags: Record<string, string>; lifecycle_stage: LifecycleStage }) => {
      name?: string;
      tags?: Record<string, string>;
      lifecycle_stage?: LifecycleStage;
    },
  ): Promise<Experiment> {
    return store.transaction(async (tx) => {
      const row = await tx.selectFrom("experiments").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) {
        throw new LoopmlError(
          "NOT_FOUND",
          `No experiment with id ${id}. List them with loopml experiments list.`,
          {
            experiment: id,
          },
        );
      }
      const before = experimentFromRow(row);
      const set = change({ name: row.name, tags: { ...before.tags }, lifecycle_stage: row.lifecycle_stage });
      if (set.name !== undefined && set.name !== row.name) {
        const clash = await tx
          .selectFrom("experiments")
          .select("id")
          .where("name", "=", set.name)
          .executeTakeFirst();
        if (clash) {
          throw new LoopmlError(
            "ALREADY_EXISTS",
            `Experiment "${set.name}" already exists (id ${clash.id}).`,
          );
        }
      }
      const updated = {
        ...(set.name !== undefined && { name: set.name }),
        ...(set.tags !== undefined && { tags: canonicalJson(set.tags) }),
        ...(set.lifecycle_stage !== undefined && { lifecycle_stage: set.lifecycle_stage }),
        updated_at: clock.now(),
      };
      await tx.updateTable("experiments").set(updated).where("id", "=", id).execute();
      await audit.append(tx, {
        actor,
        action,
        target: `experiment:${id}`,
        details: { before: { name: row.name, stage: row.lifecycle_stage }, after: set },
      });
      return experimentFromRow({ ...row, ...updated });
    });
  }

  return {
    renameExperiment: (id, name) => {
      if (typeof name !== "string" || name.trim() === "" || name.length > 500) {
        throw new LoopmlError("INVALID_ARGUMENT", "An experiment needs a name of 1–500 characters.");
      }
      return editExperiment(id, "experiment.rename", () => ({ name }));
    },
    setExperimentStage: (id, stage) => {
      if (id === "0" && stage === "deleted") {
        throw new LoopmlError("FAILED_PRECONDITION", "The Default experiment (id 0) cannot be deleted.");
      }
      return editExperiment(id, stage === "deleted" ? "experiment.delete" : "experiment.restore", () => ({
        lifecycle_stage: stage,
      }));
    },
    setExperimentTag: (id, key, value) => {
      checkKeyValues("Experiment tag", [{ key, value }], MAX_TAG_VALUE);
      return editExperiment(id, "experiment.set-tag", (row) => ({ tags: { ...row.tags, [key]: value } }));
    },
    restoreRun: async (id) => {
      await store.transaction(async (tx) => {
        await requireRun(tx, id);
        await tx.updateTable("runs").set({ lifecycle_stage: "active" }).where("id", "=", id).execute();
        await audit.append(tx, { actor, action: "run.restore", target: `run:${id}` });
      });
    },
    deleteRunTag: async (runId, key) => {
      checkKey("Tag", key);
      await store.transaction(async (tx) => {
        await requireRun(tx, runId);
        const gone = await tx
          .deleteFrom("run_tags")
          .where("run_id", "=", runId)
          .where("key", "=", key)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) === 0) {
          throw new LoopmlError("NOT_FOUND", `Run ${runId} has no tag "${key}".`, { runId, key });
        }
        await audit.append(tx, {
          actor,
          action: "run.delete-tag",
          target: `run:${runId}`,
          details: { key },
        });
      });
    },
  };
}
