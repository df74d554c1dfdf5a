// The native runtime: loopml's own GBDT models (learn/gbdt, "loopml-gbdt" JSON) served in process.
import { frameFromColumns, type CategoricalColumn, type Column } from "../../learn/frame.ts";
import { loadTabularModel, type TabularModel } from "../../learn/learner/index.ts";
import type { GbdtModel } from "../../learn/gbdt/index.ts";
import { loadGbdtModel } from "../../learn/serialize/index.ts";
import type { Explanation } from "../../learn/explain/explain.ts";
import type { Batch, ModelRuntime, ModelSignature, PredictResult } from "../types.ts";

export class NativeGbdtRuntime implements ModelRuntime {
  readonly kind = "native";
  readonly signature: ModelSignature;
  /** Training dictionaries as lookups, so a string maps to its training code in one probe. */
  private readonly codes: (ReadonlyMap<string, number> | null)[];

  constructor(readonly model: GbdtModel) {
    const features = model.features;
    this.codes = features.map((f) =>
      f.kind === "categorical" ? new Map((f.dictionary ?? []).map((d, i) => [d, i] as const)) : null,
    );
    const objective = model.objective;
    // The model exposes its output count only through its serialized form; read once at load.
    const nClasses = objective === "binary" ? 2 : objective === "multiclass" ? model.toJSON().nOutputs : 1;
    this.signature = {
      inputs: features.map((f) => ({
        name: f.name,
        type: f.kind === "numeric" ? "double" : "string",
        nullable: true,
      })),
      task: objective === "binary" ? "binary" : objective === "multiclass" ? "multiclass" : "regression",
      nClasses,
    };
  }

  predict(batch: Batch): PredictResult {
    const frame = this.toFrame(batch);
    const { task } = this.signature;
    if (task === "regression") return { predictions: this.model.predict(frame) };
    const probabilities = this.model.predictProba(frame);
    const k = this.signature.nClasses;
    const predictions = new Float64Array(batch.nRows);
    for (let r = 0; r < batch.nRows; r++) {
      let best = 0;
      for (let c = 1; c < k; c++)
        if ((probabilities[r * k + c] as number) > (probabilities[r * k + best] as number)) best = c;
      predictions[r] = best;
    }
    return { predictions, probabilities };
  }

  explain(batch: Batch): Explanation {
    return this.model.explain(this.toFrame(batch));
  }

  private toFrame(batch: Batch): { nRows: number; columns: Column[] } {
    const { nRows, values, strings } = batch;
    const features = this.model.features;
    const width = features.length;
    const columns = features.map((spec, f): Column => {
      const cells = strings[f];
      const lookup = this.codes[f];
      if (cells && lookup) {
        const codes = new Int32Array(nRows);
        for (let r = 0; r < nRows; r++) {
          const s = cells[r];
          codes[r] = s === null || s === undefined ? -1 : (lookup.get(s) ?? -1);
        }
        const column: CategoricalColumn = {
          kind: "categorical",
          name: spec.name,
          codes,
          dictionary: spec.dictionary ?? [],
        };
        return column;
      }
      const column = new Float64Array(nRows);
      for (let r = 0; r < nRows; r++) column[r] = values[r * width + f] as number;
      return { kind: "numeric", name: spec.name, values: column };
    });
    return { nRows, columns };
  }
}

/** Loads a model envelope (learn/serialize) or a model saved with `model.toJSON()` from learn/gbdt. */
export function createNativeRuntime(doc: unknown): NativeGbdtRuntime | NativeTabularRuntime {
  if ((doc as { format?: unknown } | null)?.format === "loopml-model") {
    return new NativeTabularRuntime(loadTabularModel(doc));
  }
  return new NativeGbdtRuntime(loadGbdtModel(doc as Uint8Array | string | object));
}

/** Any loopml learner saved by `loopml train` ("loopml-model": gbdt, rf, extra-trees, linear with preprocessing). */
export class NativeTabularRuntime implements ModelRuntime {
  readonly kind = "native";
  readonly signature: ModelSignature;

  constructor(readonly model: TabularModel) {
    this.signature = {
      inputs: model.inputs.map((f) => ({
        name: f.name,
        type: f.kind === "numeric" ? "double" : "string",
        nullable: true,
      })),
      task: model.task,
      nClasses: model.nClasses,
    };
  }

  predict(batch: Batch): PredictResult {
    const { nRows, values, strings } = batch;
    const width = this.signature.inputs.length;
    // Strings become a categorical column with their own dictionary; the model's preprocessing maps them by value.
    const columns = this.model.inputs.map((spec, f): Column => {
      const cells = strings[f];
      // A column of only nulls (the warm-up row) carries no strings to infer its kind from: say it is categorical.
      const input = cells?.every((c) => c === null)
        ? { codes: new Int32Array(nRows).fill(-1), dictionary: [] }
        : cells?.map((c) => c ?? null);
      if (input) return frameFromColumns({ [spec.name]: input }).columns[0] as Column;
      const column = new Float64Array(nRows);
      for (let r = 0; r < nRows; r++) column[r] = values[r * width + f] as number;
      return { kind: "numeric", name: spec.name, values: column };
    });
    const frame = { nRows, columns };
    if (this.model.task === "regression") return { predictions: this.model.predict(frame) };
    return { predictions: this.model.predict(frame), probabilities: this.model.predictProba(frame) };
  }
}
