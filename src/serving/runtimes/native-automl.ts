// AutoML models ("loopml-automl": one or more weighted members — boosting, forests, linear models) served
// in process, blended exactly as AutomlModel.predict blends them, so a registered AutoML winner — ensemble
// or not — serves like any model.
import { LoopmlError } from "../../errors.ts";
import type { Explanation } from "../../learn/explain/explain.ts";
import { loadModel } from "../../learn/gbdt/index.ts";
import { loadTabularModel } from "../../learn/learner/index.ts";
import type { AutomlModelJson } from "../../automl/model.ts";
import type { Batch, ModelRuntime, ModelSignature, PredictResult } from "../types.ts";
import { NativeGbdtRuntime, NativeTabularRuntime } from "./native.ts";

interface Member {
  readonly weight: number;
  readonly runtime: NativeGbdtRuntime | NativeTabularRuntime;
  /** Where each of the member's inputs sits in the AutoML model's batch; null when the order is the same. */
  readonly columns: readonly number[] | null;
}

export class NativeAutomlRuntime implements ModelRuntime {
  readonly kind = "native";
  readonly signature: ModelSignature;

  private readonly members: readonly Member[];

  constructor(runtimes: readonly { weight: number; runtime: NativeGbdtRuntime | NativeTabularRuntime }[]) {
    const first = runtimes[0];
    if (!first) throw new LoopmlError("INVALID_ARGUMENT", "AutoML model has no members.");
    const names = first.runtime.signature.inputs.map((c) => c.name);
    // Members share the batch, laid out in the first member's input order: the others read it by name.
    this.members = runtimes.map((m) => {
      const own = m.runtime.signature.inputs.map((c) => c.name);
      const columns = own.map((name) => names.indexOf(name));
      if (own.length !== names.length || columns.some((c) => c < 0)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          "AutoML ensemble members were trained on different feature lists; retrain the model.",
        );
      }
      return { ...m, columns: columns.every((c, i) => c === i) ? null : columns };
    });
    this.signature = first.runtime.signature;
  }

  /** Sums the members in AutomlModel's order and layout (binary: P(class 1) only), so results match it bit for bit. */
  predict(batch: Batch): PredictResult {
    const run = (m: Member): PredictResult => m.runtime.predict(reorder(batch, m.columns));
    const { task, nClasses } = this.signature;
    if (task === "regression") {
      const out = new Float64Array(batch.nRows);
      for (const m of this.members) addScaled(out, run(m).predictions, m.weight);
      return { predictions: out };
    }
    const width = task === "binary" ? 1 : nClasses;
    const blended = new Float64Array(batch.nRows * width);
    for (const m of this.members) {
      const p = run(m).probabilities;
      if (!p) throw new LoopmlError("INTERNAL", "A classifier member returned no probabilities.");
      if (width === 1) {
        for (let r = 0; r < batch.nRows; r++)
          blended[r] = (blended[r] as number) + m.weight * (p[r * nClasses + 1] as number);
      } else addScaled(blended, p, m.weight);
    }
    const probabilities =
      width === 1
        ? Float64Array.from({ length: batch.nRows * 2 }, (_, i) =>
            i % 2 ? (blended[i >> 1] as number) : 1 - (blended[i >> 1] as number),
          )
        : blended;
    const predictions = new Float64Array(batch.nRows);
    for (let r = 0; r < batch.nRows; r++) {
      let best = 0;
      for (let c = 1; c < nClasses; c++)
        if ((probabilities[r * nClasses + c] as number) > (probabilities[r * nClasses + best] as number))
          best = c;
      predictions[r] = best;
    }
    return { predictions, probabilities };
  }

  /**
   * Exact for a single model and for regression ensembles (a weighted sum of trees is still additive);
   * a classifier ensemble averages probabilities, which no per-feature margin decomposition reproduces.
   */
  explain(batch: Batch): Explanation {
    const first = this.members[0] as Member;
    const explainers = this.members.map((m) => m.runtime).filter((r) => r instanceof NativeGbdtRuntime);
    if (explainers.length < this.members.length) {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        "This AutoML model has forest or linear members; per-feature contributions are served for boosting members only.",
      );
    }
    if (this.members.length === 1) return (first.runtime as NativeGbdtRuntime).explain(batch);
    if (this.signature.task !== "regression") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        "This model is an ensemble of classifiers that averages probabilities; per-feature contributions exist only for single models and regression ensembles.",
      );
    }
    let sum: Explanation | null = null;
    for (const m of this.members) {
      const e = (m.runtime as NativeGbdtRuntime).explain(reorder(batch, m.columns));
      if (sum === null) {
        sum = {
          ...e,
          expectedValue: new Float64Array(e.expectedValue.length),
          contributions: new Float64Array(e.contributions.length),
        };
      }
      addScaled(sum.expectedValue, e.expectedValue, m.weight);
      addScaled(sum.contributions, e.contributions, m.weight);
    }
    return sum as Explanation;
  }
}

/** The batch with its inputs in a member's order (rows stay row-major). */
function reorder(batch: Batch, columns: readonly number[] | null): Batch {
  if (columns === null) return batch;
  const width = columns.length;
  const values = new Float64Array(batch.values.length);
  for (let r = 0; r < batch.nRows; r++)
    for (let j = 0; j < width; j++)
      values[r * width + j] = batch.values[r * width + (columns[j] as number)] as number;
  return { nRows: batch.nRows, values, strings: columns.map((c) => batch.strings[c] ?? null) };
}

function addScaled(into: Float64Array, from: ArrayLike<number>, weight: number): void {
  for (let i = 0; i < into.length; i++) into[i] = (into[i] as number) + weight * (from[i] as number);
}

/** Loads `AutomlModel.toJSON()` output. */
export function createAutomlRuntime(doc: unknown): NativeAutomlRuntime {
  const d = doc as Partial<AutomlModelJson>;
  const members = d.members ?? [];
  if (d.version !== 1 || members.length === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "AutoML model JSON must have version 1 and at least one member; re-export it with this loopml.",
    );
  }
  return new NativeAutomlRuntime(
    members.map((m) => ({
      weight: m.weight,
      runtime:
        (m.model as { format?: string }).format === "loopml-model"
          ? new NativeTabularRuntime(loadTabularModel(m.model))
          : new NativeGbdtRuntime(loadModel(m.model)),
    })),
  );
}
