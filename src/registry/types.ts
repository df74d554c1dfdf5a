// Registry data as plain readonly values: models, versions with lineage, aliases, gate policies and promotions.

export type Flavor = "native" | "onnx" | "xgboost-json";
export const FLAVORS: readonly Flavor[] = ["native", "onnx", "xgboost-json"];

export type Role = "viewer" | "editor" | "approver" | "admin";
export const ROLES: readonly Role[] = ["viewer", "editor", "approver", "admin"];

export interface Column {
  readonly name: string;
  /** e.g. "double", "long", "string", "boolean". */
  readonly type: string;
  /** An optional input may be absent from a request. */
  readonly optional?: boolean;
}

export interface Signature {
  readonly inputs: readonly Column[];
  readonly outputs: readonly Column[];
}

export interface DatasetRef {
  readonly dataset: string;
  readonly version: string;
  readonly context: string;
}

/** A metric rule against the current holder of an alias: candidate.metric OP holder.metric × factor. */
export interface MetricRule {
  readonly metric: string;
  readonly op: "<=" | "<" | ">=" | ">";
  /** Default 1. */
  readonly factor?: number;
  /** Whose value to beat; default the alias being promoted to. */
  readonly against?: string;
  /** When set, both versions must have been evaluated on the same version of the dataset with this context. */
  readonly sameDatasetContext?: string;
}

/** Loading the candidate and predicting a batch of `batchRows` rows must take at most `maxMs` (median of 5). */
export interface LatencyBudget {
  readonly maxMs: number;
  /** Default 1000. */
  readonly batchRows: number;
}

export interface GatePolicy {
  readonly metricRules: readonly MetricRule[];
  /** Absent: no latency rule. */
  readonly latencyBudget?: LatencyBudget;
  /** The new signature must accept what the holder's did. Default true. */
  readonly schemaCompatible: boolean;
  /** Promotions to these aliases wait for an approver. */
  readonly approvalFor: readonly string[];
  /** Aliases (environments) only `promote` may move. */
  readonly protectedAliases: readonly string[];
}

export const DEFAULT_POLICY: GatePolicy = {
  metricRules: [],
  schemaCompatible: true,
  approvalFor: [],
  protectedAliases: [],
};

export interface RegisteredModel {
  readonly name: string;
  readonly description: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly policy: GatePolicy;
  readonly latestVersion: number;
  readonly aliases: Readonly<Record<string, number>>;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string;
}

export interface ModelVersion {
  readonly model: string;
  readonly version: number;
  /** The model artifact's blob id, when stored by loopml. */
  readonly blobId: string | null;
  /** Where the artifact came from (a blob URI, an MLflow source path). */
  readonly source: string;
  readonly flavor: Flavor | null;
  readonly signature: Signature | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly runId: string | null;
  readonly datasets: readonly DatasetRef[];
  readonly pipelineRun: string | null;
  readonly codeVersion: string | null;
  readonly description: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly aliases: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string;
}

export interface AliasMove {
  readonly model: string;
  readonly alias: string;
  readonly from: number | null;
  readonly to: number | null;
  readonly at: number;
  readonly actor: string;
  readonly forced: boolean;
}

export interface RuleResult {
  readonly rule: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface GateReport {
  readonly passed: boolean;
  readonly rules: readonly RuleResult[];
}

export interface Promotion {
  readonly id: string;
  readonly model: string;
  readonly version: number;
  readonly alias: string;
  readonly status: "pending" | "approved" | "rejected";
  readonly report: GateReport;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly reason: string | null;
}

export type PromoteResult =
  | {
      readonly status: "moved";
      readonly move: AliasMove;
      readonly report: GateReport;
      readonly forced: boolean;
    }
  | { readonly status: "pending"; readonly promotion: Promotion };

export interface Lineage {
  readonly model: string;
  readonly version: number;
  readonly artifact: {
    readonly blobId: string | null;
    readonly source: string;
    readonly flavor: Flavor | null;
  };
  readonly codeVersion: string | null;
  readonly pipelineRun: string | null;
  readonly run: {
    readonly id: string;
    readonly experimentId: string;
    readonly status: string;
    readonly gitCommit: string | null;
    readonly gitDirty: boolean | null;
    readonly params: Readonly<Record<string, string>>;
  } | null;
  /** Each dataset version with its manifest blob id when `loopml data` knows it. */
  readonly datasets: ReadonlyArray<DatasetRef & { readonly blobId: string | null }>;
}
