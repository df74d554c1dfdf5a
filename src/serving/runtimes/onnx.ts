// The onnx runtime: any ONNX model (exported by loopml, scikit-learn, XGBoost, PyTorch…) run in process with
// onnxruntime-node. Its signature comes from the graph: one column per [N, 1] input, or f0…fK-1 for a
// single [N, K] input; classifiers are recognised by a float [N, C] probabilities output.
import { readFile } from "node:fs/promises";
import { Tensor } from "onnxruntime-node";
import { binding, initOrt, type Binding } from "onnxruntime-node/dist/binding.js";
import { LoopmlError } from "../../errors.ts";
import type { Batch, ColumnSpec, ModelRuntime, ModelSignature, PredictResult, Task } from "../types.ts";

/** ONNX TensorProto element types onnxruntime reports in its metadata. */
const ELEMENT = { 1: "float32", 6: "int32", 7: "int64", 8: "string", 9: "bool", 11: "float64" } as const;
type ElementType = (typeof ELEMENT)[keyof typeof ELEMENT];

interface InputPlan {
  readonly name: string;
  readonly type: ElementType;
  /** Signature columns this input takes, in order (one for [N, 1], K for [N, K]). */
  readonly columns: readonly number[];
  /** Whether the input is rank 1 ([N]) rather than [N, K]. */
  readonly flat: boolean;
}

export interface OnnxRuntimeOptions {
  /** Column names for a single [N, K] input (default f0…fK-1). */
  readonly featureNames?: readonly string[];
  /** Override the task inferred from the outputs. */
  readonly task?: Task;
}

export class OnnxRuntime implements ModelRuntime {
  readonly kind = "onnx";
  readonly signature: ModelSignature;
  private readonly inputs: readonly InputPlan[];
  private readonly fetches: Record<string, null>;
  private readonly probabilityOutput: string | null;
  private readonly valueOutput: string | null;

  /**
   * onnxruntime-node's public session runs asynchronously (a setImmediate around a synchronous native
   * call); runtimes predict synchronously, so this uses the same native session object directly.
   */
  constructor(
    private readonly session: Binding.InferenceSession,
    options: OnnxRuntimeOptions = {},
  ) {
    const { inputs, columns } = planInputs(session.inputMetadata, options.featureNames);
    this.inputs = inputs;
    const outputs = session.outputMetadata.filter((o) => o.isTensor);
    const floatOut = outputs.filter((o) => o.type === 1 || o.type === 11);
    const proba = floatOut.find((o) => o.shape.length === 2 && (o.shape[1] as number) >= 2);
    const value = floatOut.find((o) => o !== proba);
    const task: Task =
      options.task ?? (proba ? ((proba.shape[1] as number) === 2 ? "binary" : "multiclass") : "regression");
    if (task !== "regression" && !proba) {
      throw unsupported(`it has no float [N, classes] output to read class probabilities from`);
    }
    if (task === "regression" && !value && !proba) throw unsupported("it has no float output");
    this.probabilityOutput = task === "regression" ? null : (proba?.name ?? null);
    this.valueOutput = task === "regression" ? ((value ?? proba)?.name ?? null) : null;
    this.fetches = { [(this.probabilityOutput ?? this.valueOutput) as string]: null };
    this.signature = {
      inputs: columns,
      task,
      nClasses: task === "regression" ? 1 : ((proba as Binding.ValueMetadata).shape[1] as number),
    };
  }

  predict(batch: Batch): PredictResult {
    const feeds: Record<string, Tensor> = {};
    const width = this.signature.inputs.length;
    for (const input of this.inputs) feeds[input.name] = this.tensorFor(input, batch, width);
    let result;
    try {
      result = this.session.run(feeds, this.fetches, {}) as Record<string, Tensor>;
    } catch (e) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `The ONNX model failed on this batch: ${(e as Error).message}`,
      );
    }
    if (this.probabilityOutput) {
      const k = this.signature.nClasses;
      const probabilities = Float64Array.from(result[this.probabilityOutput]?.data as ArrayLike<number>);
      const predictions = new Float64Array(batch.nRows);
      for (let r = 0; r < batch.nRows; r++) {
        let best = 0;
        for (let c = 1; c < k; c++)
          if ((probabilities[r * k + c] as number) > (probabilities[r * k + best] as number)) best = c;
        predictions[r] = best;
      }
      return { predictions, probabilities };
    }
    const out = result[this.valueOutput as string] as Tensor;
    const data = out.data as ArrayLike<number>;
    // A [N, T] output with several targets: the first target is the prediction.
    const stride = data.length / Math.max(batch.nRows, 1);
    return { predictions: Float64Array.from({ length: batch.nRows }, (_, r) => data[r * stride] as number) };
  }

  private tensorFor(input: InputPlan, batch: Batch, width: number): Tensor {
    const n = batch.nRows;
    const k = input.columns.length;
    const dims = input.flat ? [n] : [n, k];
    if (input.type === "string") {
      const cells: string[] = new Array<string>(n * k);
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < k; j++) {
          const col = input.columns[j] as number;
          const s = batch.strings[col]?.[r];
          cells[r * k + j] = s ?? (batch.strings[col] ? "" : String(batch.values[r * width + col]));
        }
      }
      return new Tensor("string", cells, dims);
    }
    const size = n * k;
    const data =
      input.type === "float32"
        ? new Float32Array(size)
        : input.type === "float64"
          ? new Float64Array(size)
          : input.type === "int32"
            ? new Int32Array(size)
            : input.type === "bool"
              ? new Uint8Array(size)
              : new BigInt64Array(size);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < k; j++) {
        const col = input.columns[j] as number;
        const v = batch.values[r * width + col] as number;
        if (data instanceof BigInt64Array) {
          if (!Number.isInteger(v)) {
            throw new LoopmlError(
              "INVALID_ARGUMENT",
              `Column "${this.signature.inputs[col]?.name}" needs whole numbers (the model's input "${input.name}" is int64) but row ${r} holds ${v}.`,
            );
          }
          data[r * k + j] = BigInt(v);
        } else data[r * k + j] = v;
      }
    }
    return new Tensor(input.type === "bool" ? "bool" : input.type, data, dims);
  }
}

function planInputs(
  metadata: readonly Binding.ValueMetadata[],
  featureNames: readonly string[] | undefined,
): { inputs: InputPlan[]; columns: ColumnSpec[] } {
  const tensors = metadata.filter((m) => m.isTensor);
  if (tensors.length === 0 || tensors.length !== metadata.length) {
    throw unsupported("its inputs are not all tensors");
  }
  const inputs: InputPlan[] = [];
  const columns: ColumnSpec[] = [];
  for (const m of tensors) {
    const type = ELEMENT[m.type as keyof typeof ELEMENT] as ElementType | undefined;
    if (!type) throw unsupported(`input "${m.name}" has element type ${m.type}, which loopml cannot feed`);
    if (m.shape.length < 1 || m.shape.length > 2) {
      throw unsupported(`input "${m.name}" has rank ${m.shape.length}; tabular models take [N] or [N, K]`);
    }
    const k = m.shape.length === 1 ? 1 : (m.shape[1] as number);
    if (k < 1)
      throw unsupported(`input "${m.name}" has no fixed column count (shape ${JSON.stringify(m.shape)})`);
    const wide = k > 1 || (tensors.length === 1 && featureNames !== undefined && featureNames.length === 1);
    const names =
      k === 1 && !wide
        ? [m.name]
        : Array.from({ length: k }, (_, j) =>
            tensors.length === 1 ? (featureNames?.[j] ?? `f${j}`) : `${m.name}_${j}`,
          );
    if (tensors.length === 1 && featureNames && featureNames.length !== k) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `The ONNX model's input "${m.name}" has ${k} columns but ${featureNames.length} feature names were given.`,
      );
    }
    inputs.push({
      name: m.name,
      type,
      columns: names.map((_, j) => columns.length + j),
      flat: m.shape.length === 1,
    });
    for (const name of names)
      columns.push({
        name,
        type: type === "string" ? "string" : "double",
        nullable: type === "float32" || type === "float64" || type === "string",
      });
  }
  return { inputs, columns };
}

function unsupported(why: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", `This ONNX model cannot be served as a tabular model: ${why}.`);
}

/**
 * Loads an ONNX model from its bytes.
 *
 * @example
 * const runtime = createOnnxRuntime(await readFile("model.onnx"));
 */
export function createOnnxRuntime(bytes: Uint8Array, options: OnnxRuntimeOptions = {}): OnnxRuntime {
  initOrt();
  const session = new binding.InferenceSession();
  try {
    session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {});
  } catch (e) {
    throw new LoopmlError("INVALID_ARGUMENT", `Not a loadable ONNX model: ${(e as Error).message}`);
  }
  return new OnnxRuntime(session, options);
}

/** Loads ONNX bytes; errors start with `source` (e.g. the file or the registered version). */
export function createOnnxRuntimeNamed(
  bytes: Uint8Array,
  source: string,
  options: OnnxRuntimeOptions = {},
): OnnxRuntime {
  try {
    return createOnnxRuntime(bytes, options);
  } catch (e) {
    if (e instanceof LoopmlError) throw new LoopmlError(e.code, `${source}: ${e.message}`);
    throw e;
  }
}

/** Reads and loads an .onnx file; errors name the file. */
export async function createOnnxRuntimeFromFile(
  path: string,
  options: OnnxRuntimeOptions = {},
): Promise<OnnxRuntime> {
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
  return createOnnxRuntimeNamed(bytes, `Model file "${path}"`, options);
}
