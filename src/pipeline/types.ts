// The pipeline model shared by loopml.yaml stages and TypeScript definitions: plain readonly data, no IO.
import type { Workspace } from "../workspace.ts";

/** A JSON-compatible parameter value. */
export type ParamValue =
  string | number | boolean | null | readonly ParamValue[] | { readonly [k: string]: ParamValue };

/** What a step reads: a file or folder in the project (possibly another step's output) or a dataset version. */
export type DepRef =
  | { readonly kind: "path"; readonly path: string }
  | { readonly kind: "dataset"; readonly name: string; readonly version: number | "latest" };

/** A parameter given inline, or read from a key (dotted path) of a YAML/JSON params file. */
export type ParamSource =
  | { readonly kind: "value"; readonly key: string; readonly value: ParamValue }
  | { readonly kind: "file"; readonly key: string; readonly file: string };

/** What an in-process step function receives. */
export interface StepContext {
  /** The project folder; relative deps and outs are resolved against it. */
  readonly cwd: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Aborted when the step times out or the run is cancelled. */
  readonly signal: AbortSignal;
  log(message: string): void;
  /** The step's name, and the pipeline run it belongs to. */
  readonly step?: string;
  readonly pipelineRunId?: string;
  /** The stores, for steps that use the registry, datasets or tracking (the built-ins do). */
  readonly workspace?: Workspace;
}

export type StepFunction = (ctx: StepContext) => Promise<void> | void;

export interface StepSpec {
  readonly name: string;
  /** A shell command, run with /bin/sh -c in the project folder. */
  readonly run?: string;
  /** An in-process function (TypeScript pipelines). */
  readonly fn?: StepFunction;
  /** What identifies `fn` in the cache key: its source text plus an optional explicit version. */
  readonly code?: string;
  /** A built-in step (`uses: automl`) with its `with` values; a queue worker rebuilds `fn` from it. */
  readonly uses?: {
    readonly name: string;
    readonly version: string;
    readonly with: Readonly<Record<string, ParamValue>>;
  };
  readonly deps: readonly DepRef[];
  readonly params: readonly ParamSource[];
  /** Files or folders the step must write, relative to the project, normalised (no "./", no trailing "/"). */
  readonly outs: readonly string[];
  /** A JSON file whose numbers are recorded as the step's metrics (it is also cached like an output). */
  readonly metrics?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly retries: number;
  readonly resources?: { readonly cpu?: number; readonly memory?: string };
}

export interface PipelineSpec {
  readonly name: string;
  readonly steps: readonly StepSpec[];
}

/** A stored output: a file blob, or a folder whose id is the blob of its manifest. */
export interface OutputRef {
  readonly path: string;
  readonly kind: "file" | "folder";
  readonly id: string;
}

/** The manifest blob of a folder output: its files by relative path. */
export interface FolderManifest {
  readonly kind: "loopml.folder/v1";
  readonly entries: readonly { readonly path: string; readonly id: string; readonly size: number }[];
}
