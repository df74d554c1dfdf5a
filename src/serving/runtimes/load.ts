// Chooses the runtime for a model file by its content: XGBoost JSON, loopml GBDT JSON or envelope, ONNX.
import { readFile } from "node:fs/promises";
import { LoopmlError } from "../../errors.ts";
import { isEnvelope } from "../../learn/serialize/envelope.ts";
import type { ModelRuntime } from "../types.ts";
import { createNativeRuntime } from "./native.ts";
import { createAutomlRuntime } from "./native-automl.ts";
import { createOnnxRuntimeNamed } from "./onnx.ts";
import { createXgboostJsonRuntime } from "./xgboost-json/runtime.ts";

/** The runtimes this build can load, by name. */
export const RUNTIME_KINDS = ["xgboost-json", "native", "onnx"] as const;

/**
 * Builds a runtime from a model document: `{"learner": …}` is XGBoost's save_model JSON,
 * `{"format": "loopml-gbdt"}` a loopml GBDT.
 *
 * @example
 * const runtime = loadRuntime(JSON.parse(text));
 */
export function loadRuntime(doc: unknown, source = "the model"): ModelRuntime {
  if (doc instanceof Uint8Array && isEnvelope(doc)) return createNativeRuntime(doc);
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    const record = doc as Record<string, unknown>;
    // loopml-model documents also have a "learner" key: test the format first.
    if (record.format === "loopml-model") return createNativeRuntime(doc);
    if ("learner" in record) return createXgboostJsonRuntime(doc);
    if (record.format === "loopml-gbdt") return createNativeRuntime(doc);
    if (record.format === "loopml-automl") return createAutomlRuntime(doc);
  }
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `${source} is neither an XGBoost JSON model (save_model("m.json")) nor a loopml GBDT or AutoML model (format "loopml-gbdt" or "loopml-automl"); supported runtimes: ${RUNTIME_KINDS.join(", ")}.`,
  );
}

/** Reads and loads a model file; errors name the file. */
export async function loadRuntimeFromFile(path: string): Promise<ModelRuntime> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LoopmlError(
      code === "ENOENT" ? "NOT_FOUND" : "INVALID_ARGUMENT",
      `Cannot read model file "${path}" (${code ?? (e as Error).message}); check the path.`,
    );
  }
  return loadRuntimeFromBytes(bytes, path.endsWith(".onnx") ? "onnx" : null, `Model file "${path}"`);
}

/**
 * Loads a model from its bytes: a registered version's artifact (flavor from the registry) or a file's
 * content. JSON documents choose their runtime by content.
 *
 * @example
 * const runtime = await loadRuntimeFromBytes(await ws.blobs.getBytes(v.blobId), v.flavor, `Model "churn" version 3`);
 */
export async function loadRuntimeFromBytes(
  bytes: Uint8Array,
  flavor: string | null,
  source: string,
): Promise<ModelRuntime> {
  if (flavor === "onnx") return createOnnxRuntimeNamed(bytes, source);
  if (isEnvelope(bytes)) return createNativeRuntime(bytes);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (e) {
    throw new LoopmlError("INVALID_ARGUMENT", `${source} is not valid JSON (${(e as Error).message}).`);
  }
  return Promise.resolve(loadRuntime(doc, source));
}
