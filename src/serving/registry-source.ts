// Loads a registered model version for serving: its artifact from the blob store, the runtime for its flavor, one warm-up prediction.
import { performance } from "node:perf_hooks";
import { LoopmlError } from "../errors.ts";
import type { RegistryService } from "../registry/service.ts";
import type { BlobStore } from "../store/types.ts";
import type { LoadedModel } from "./models.ts";
import { loadRuntimeFromBytes } from "./runtimes/load.ts";
import type { Batch, ModelRuntime } from "./types.ts";

export interface RegistrySource {
  readonly registry: Pick<RegistryService, "getVersion">;
  readonly blobs: Pick<BlobStore, "getBytes">;
}

export interface RegisteredLoad extends LoadedModel {
  readonly model: string;
  readonly version: string;
}

/**
 * Resolves `ref` (an alias or a version number) and loads that version, ready to answer: the first
 * prediction has already run, so a swap never puts a cold model in front of traffic.
 *
 * @example
 * const loaded = await loadRegisteredModel({ registry, blobs: ws.blobs }, "churn", "production");
 */
export async function loadRegisteredModel(
  source: RegistrySource,
  model: string,
  ref: string | number,
): Promise<RegisteredLoad> {
  const started = performance.now();
  const v = await source.registry.getVersion(model, ref);
  const what = `Model "${model}" version ${v.version}`;
  if (!v.blobId) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `${what} has no artifact stored by loopml (source ${v.source}); register it with an artifact to serve it.`,
    );
  }
  const runtime = await loadRuntimeFromBytes(await source.blobs.getBytes(v.blobId), v.flavor, what);
  warm(runtime, what);
  return {
    model,
    version: String(v.version),
    runtime,
    loadSeconds: (performance.now() - started) / 1000,
  };
}

/** One prediction on a row of missing values: compiles the hot paths and proves the model answers. */
export function warm(runtime: ModelRuntime, what = "The model"): void {
  const inputs = runtime.signature.inputs;
  const batch: Batch = {
    nRows: 1,
    values: new Float64Array(inputs.length).fill(NaN),
    strings: inputs.map((c) => (c.type === "string" ? [null] : null)),
  };
  let predictions: Float64Array;
  try {
    predictions = runtime.predict(batch).predictions;
  } catch (e) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `${what} failed its warm-up prediction: ${(e as Error).message}`,
      undefined,
      {
        cause: e,
      },
    );
  }
  if (predictions.length !== 1) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `${what} answered ${predictions.length} predictions for one warm-up row; it cannot be served.`,
    );
  }
}
