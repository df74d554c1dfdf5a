// Resolves a monitor's reference ("dataset:NAME@V" or "run:ID") to a stored profile, building it once per data version.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quoteIdent } from "../data/duck.ts";
import { readFrame } from "../data/read-frame.ts";
import { createDataService } from "../data/service.ts";
import { LoopmlError } from "../errors.ts";
import type { Frame } from "../learn/frame.ts";
import { createTrackingService } from "../tracking/service.ts";
import type { Workspace } from "../workspace.ts";
import {
  buildReferenceProfile,
  decodeReferenceProfile,
  encodeReferenceProfile,
  type ReferenceProfile,
} from "./reference.ts";

export interface LoadedReference {
  readonly profile: ReferenceProfile;
  /** The dataset version the profile was built from, as NAME@SEQ. */
  readonly version: string;
  /** True when this call profiled the data (the first run against a reference). */
  readonly built: boolean;
}

/** A dataset version's tables as one frame (all its CSV/Parquet files, unioned by column), without a checkout. */
export async function readDatasetFrame(
  ws: Workspace,
  ref: string,
): Promise<{ frame: Frame; version: string }> {
  const data = createDataService(ws);
  const version = await data.resolve(ref);
  const scratch = await mkdtemp(join(tmpdir(), "loopml-monitor-"));
  try {
    const out = join(scratch, "data.parquet");
    await data.query(`SELECT * FROM ${quoteIdent(version.dataset)}`, {
      at: [`${version.dataset}@${version.seq}`],
      toParquet: out,
    });
    const { frame } = await readFrame(out);
    return { frame, version: `${version.dataset}@${version.seq}` };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** "run:ID" → the dataset version the run trained on (its "training" input, else its first input). */
async function datasetOfRun(ws: Workspace, runId: string): Promise<string> {
  const run = await createTrackingService(ws).getRun(runId);
  const input = run.inputs.find((i) => i.context === "training") ?? run.inputs[0];
  if (!input) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `Run ${runId} logged no dataset input, so it has no reference data. Use reference "dataset:NAME@VERSION".`,
    );
  }
  return `${input.dataset}@${input.version}`;
}

/**
 * @example
 * const { profile } = await loadReference(ws, "dataset:flights@1");
 */
export async function loadReference(ws: Workspace, reference: string): Promise<LoadedReference> {
  const ref = reference.startsWith("run:")
    ? await datasetOfRun(ws, reference.slice(4))
    : reference.startsWith("dataset:")
      ? reference.slice(8)
      : undefined;
  if (ref === undefined) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Reference "${reference}" must be "dataset:NAME@VERSION" or "run:RUN_ID".`,
    );
  }
  const version = await createDataService(ws).resolve(ref);
  const name = `${version.dataset}@${version.seq}`;
  // Keyed by content id: the same bytes under another name or version are profiled once.
  const key = `dataset:${version.id}`;
  const row = await ws.store.db
    .selectFrom("monitor_references")
    .select("blob_id")
    .where("key", "=", key)
    .executeTakeFirst();
  if (row)
    return {
      profile: decodeReferenceProfile(await ws.blobs.getBytes(row.blob_id)),
      version: name,
      built: false,
    };
  const { frame } = await readDatasetFrame(ws, name);
  if (frame.nRows === 0) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `Reference ${name} has no rows: a monitor needs reference data.`,
    );
  }
  const profile = buildReferenceProfile(frame, `dataset:${name}`);
  const blob = await ws.blobs.put(encodeReferenceProfile(profile));
  await ws.store.transaction(async (tx) => {
    const again = await tx
      .selectFrom("monitor_references")
      .select("key")
      .where("key", "=", key)
      .executeTakeFirst();
    if (!again) {
      await tx
        .insertInto("monitor_references")
        .values({ key, blob_id: blob.id, rows: frame.nRows, created_at: ws.clock.now() })
        .execute();
    }
  });
  return { profile, version: name, built: true };
}
