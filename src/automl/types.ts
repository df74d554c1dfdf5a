// Plain data of AutoML: tasks, metrics, options, trials, the leaderboard and the result.

export type Task = "binary" | "multiclass" | "regression";

export type MetricName = "roc_auc" | "log_loss" | "accuracy" | "f1" | "rmse" | "mae" | "r2";

export type LearnerName = "gbdt" | "gbdt-leafwise" | "rf" | "extra-trees" | "linear";

/** Searchers propose model configurations: "cfo" (cost-frugal local search, default) or "tpe". */
export type SearcherName = "cfo" | "tpe";

/**
 * Hyperparameters a searcher may set, named as in gbdt(), randomForest() or linear(); the objective,
 * the task and the class count come from the problem.
 */
export type LearnerParams = Readonly<Record<string, number | string>>;

export type ValidationKind = "kfold" | "holdout" | "time";

export interface ValidationPlan {
  readonly kind: ValidationKind;
  /** Number of train/validation splits (1 for a holdout). */
  readonly folds: number;
  readonly reason: string;
}

export interface DroppedColumn {
  readonly name: string;
  readonly reason: string;
}

export interface ProblemOptions {
  readonly target: string;
  /** "auto" (default) infers the task from the target column. */
  readonly task?: Task | "auto";
  readonly metric?: MetricName;
  /** A column ordering the rows in time: validation never trains on rows later than the ones it scores. */
  readonly timeColumn?: string;
  /** Columns the user excludes from the features. */
  readonly exclude?: readonly string[];
  /** Row count from which a holdout replaces k-fold (k-fold is too slow on big data); 50,000 by default. */
  readonly kfoldMaxRows?: number;
  readonly seed?: number;
}

export interface Problem {
  readonly target: string;
  readonly task: Task;
  readonly metric: MetricName;
  /** Class labels in code order (the model predicts indices into it); empty for regression. */
  readonly classes: readonly string[];
  /** Encoded target: class index or the numeric value, one per kept row. */
  readonly y: Float64Array;
  /** Rows of the input frame used (rows with a missing target are left out), in validation order. */
  readonly rows: Uint32Array;
  readonly features: readonly string[];
  readonly dropped: readonly DroppedColumn[];
  readonly validation: ValidationPlan;
  readonly timeColumn?: string;
  readonly rowsWithoutTarget: number;
}

export interface TrialRecord {
  readonly id: number;
  readonly learner: LearnerName;
  readonly params: LearnerParams;
  /** Training rows per fit (sample-size fidelity); equal to the full train size at full fidelity. */
  readonly sampleSize: number;
  readonly fullFidelity: boolean;
  readonly metric: MetricName;
  /** The metric on all out-of-fold predictions together (the mean over the splits run, when pruned). */
  readonly score: number;
  /** Standard deviation of the metric over splits; null for a single holdout. */
  readonly spread: number | null;
  readonly status: "ok" | "pruned" | "failed";
  readonly message?: string;
  /** Seconds spent fitting, summed over splits. */
  readonly fitSeconds: number;
  readonly predictMicrosPerRow: number;
  readonly startedAtSeconds: number;
}

export interface LeaderboardEntry {
  readonly rank: number;
  readonly trial: number;
  readonly learner: LearnerName | "ensemble";
  readonly params: LearnerParams | { readonly members: readonly { trial: number; weight: number }[] };
  readonly score: number;
  readonly spread: number | null;
  readonly fitSeconds: number;
  readonly predictMicrosPerRow: number;
  readonly sampleSize: number;
}

export interface ProgressState {
  readonly elapsedSeconds: number;
  /** Seconds left of the budget; null when only maxTrials bounds the search. */
  readonly remainingSeconds: number | null;
  readonly trials: number;
  readonly maxTrials: number | null;
  readonly bestScore: number | null;
  readonly bestLearner: LearnerName | null;
  readonly metric: MetricName;
  readonly phase: "search" | "ensemble" | "refit" | "done";
}
