// AutoML models ("loopml-automl": one or more weighted GBDTs) served in process, blended exactly as
// AutomlModel.predict blends them, so a registered AutoML winner — ensemble or not — serves like any model.
import { LoopmlError } from "../../errors.ts";
import type { Explanation } from "../../learn/explain/explain.ts";
import { loadModel } from "../../learn/gbdt/index.ts";
import type { AutomlModelJson } from "../../automl/model.ts";
import type { Batch, ModelRuntime, ModelSignature, PredictResult } from "../types.ts";
import { NativeGbdtRuntime } from "./native.ts";

interface Member {
  readonly weight: number;
  readonly runtime: NativeGbdtRuntime;
}

export class NativeAutomlRuntime implements ModelRuntime {
  readonly kind = "native";
  readonly signature: ModelSignature;

  constructor(private readonly members: readonly Member[]) {
    const first = members[0];
    if (!first) throw new LoopmlError("INVALID_ARGUMENT", "AutoML model has no members.");
    const names = first.runtime.signature.inputs.map((c) => c.name).join("\u0000");
    // Members share the batch, which is laid out in signature order: their inputs must agree.
    for (const m of members) {
      if (m.runtime.signature.inputs.map((c) => c.name).join("\u0000") !== names) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          "AutoML ensemble members were trained on different feature lists; retrain the model.",
        );
      }
    }
    this.signature = first.runtime.signature;
  }

  predict(batch: Batch): PredictResult {
    if (this.members.length === 1) return (this.members[0] as Member).runtime.predict(batch);
    const { task, nClasses } = this.signature;
    if (task === "regression") {
      const out = new Float64Array(batch.nRows);
      for (const m of this.members) addScaled(out, m.runtime.predict(batch).predictions, m.weight);
      return { predictions: out };
    }
    const probabilities = new Float64Array(batch.nRows * nClasses);
    for (const m of this.members) {
      const p = m.runtime.predict(batch).probabilities;
      if (!p) throw new LoopmlError("INTERNAL", "A classifier member returned no probabilities.");
      addScaled(probabilities, p, m.weight);
    }
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
    if (this.members.length === 1) return first.runtime.explain(batch);
    if (this.signature.task !== "regression") {
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        "This model is an ensemble of classifiers that averages probabilities; per-feature contributions exist only for single models and regression ensembles.",
      );
    }
    let sum: Explanation | null = null;
    for (const m of this.members) {
      const e = m.runtime.explain(batch);
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
    members.map((m) => ({ weight: m.weight, runtime: new NativeGbdtRuntime(loadModel(m.model)) })),
  );
}
