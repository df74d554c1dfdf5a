// The common learner interface: gbdt, random forest, extra trees and linear models behind one fit().
import { LoopmlError } from "../../errors.ts";
import type { Frame } from "../frame.ts";
import { gbdt } from "../gbdt/index.ts";
import type { GbdtParams } from "../gbdt/types.ts";
import { linear } from "../linear/index.ts";
import { fitPreprocessor, type PreprocessOptions } from "../preprocess/index.ts";
import { extraTrees, randomForest, type ForestParams } from "../random-forest/index.ts";
import { LEARNER_KINDS, TabularModel, withTarget, type LearnerKind } from "./model.ts";
import { encodeTarget, type Task } from "./target.ts";

export type LearnerParams = Readonly<Record<string, number | string | boolean>>;

export interface LearnerOptions {
  /** "auto" (default) infers binary / multiclass / regression from the target column. */
  readonly task?: Task | "auto";
  /** Learner parameters, named as in gbdt(), randomForest() or linear(), e.g. { nRounds: 200 }. */
  readonly params?: LearnerParams;
  /** Input columns; all but the target by default. */
  readonly features?: readonly string[];
  /** Numeric columns holding epoch-millisecond datetimes, expanded into calendar parts. */
  readonly datetime?: readonly string[];
  /** Overrides of the learner's default preprocessing. */
  readonly preprocess?: PreprocessOptions;
  /** Seed for sampling, target-encoding folds and tree randomness; the same seed gives the same model. */
  readonly seed?: number;
  /**
   * Epoch milliseconds after which boosting and forests stop adding trees and keep what they have, and
   * L-BFGS linear fits stop iterating. For wall-clock budgets such as AutoML's.
   */
  readonly deadline?: number;
}

export interface Learner {
  readonly kind: LearnerKind;
  fit(frame: Frame, target: string): Promise<TabularModel>;
}

/** Trees split on categories and route missing values themselves; linear models need numbers only. */
function defaultPreprocessing(kind: LearnerKind): PreprocessOptions {
  if (kind === "linear") return { standardize: true, missingIndicator: true, maxOneHot: 16 };
  return { numericImpute: "none", categoricalImpute: "none", categorical: "native" };
}

/**
 * @example
 * const model = await learner("gbdt", { params: { nRounds: 200, learningRate: 0.1 }, seed: 7 }).fit(train, "late");
 * const auc = rocAuc(labels, model.predictProba(test).filter((_, i) => i % 2 === 1));
 */
export function learner(kind: LearnerKind, options: LearnerOptions = {}): Learner {
  if (!LEARNER_KINDS.includes(kind)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Unknown learner "${String(kind)}"; use one of ${LEARNER_KINDS.join(", ")}.`,
    );
  }
  const seed = options.seed ?? 0;
  const params = options.params ?? {};
  const deadline = options.deadline !== undefined ? { deadline: options.deadline } : {};
  return {
    kind,
    async fit(frame, target) {
      const { task, classes, y } = encodeTarget(frame, target, options.task ?? "auto");
      const nClasses = classes.length;
      const { preprocessor, train } = fitPreprocessor(
        frame,
        {
          ...defaultPreprocessing(kind),
          seed,
          ...(options.features && { features: options.features }),
          ...(options.datetime && { datetime: options.datetime }),
          ...options.preprocess,
        },
        { name: target, values: y, nOutputs: task === "multiclass" ? nClasses : 1 },
      );
      const { frame: data, label } = withTarget(train, y);
      let inner;
      if (kind === "gbdt") {
        const objective =
          task === "regression" ? ((params.objective as GbdtParams["objective"]) ?? "regression") : task;
        const p = { seed, ...params, objective, ...(task === "multiclass" && { nClasses }) } as GbdtParams;
        inner = gbdt(p).fit(data, label, deadline);
      } else if (kind === "linear") {
        inner = linear({ ...params, task, ...(task === "multiclass" && { nClasses }) }).fit(
          data,
          label,
          deadline,
        );
      } else {
        const p = { seed, ...params, task, ...(task === "multiclass" && { nClasses }) } as ForestParams;
        inner = await (kind === "rf" ? randomForest(p) : extraTrees(p)).fit(data, label, deadline);
      }
      return new TabularModel(kind, task, target, classes, preprocessor, inner);
    },
  };
}
