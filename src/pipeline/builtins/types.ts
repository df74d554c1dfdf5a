// The contract of a built-in step: typed `with` inputs, the deps and outs they imply, and the work itself.
import type { z } from "zod";
import type { Workspace } from "../../workspace.ts";
import type { DepRef } from "../types.ts";

/** What a built-in reads and writes, derived from its `with` values and the step's name. */
export interface BuiltinIo {
  readonly deps: readonly DepRef[];
  readonly outs: readonly string[];
  /** A JSON file of numbers, logged to the step's tracked run. */
  readonly metrics?: string;
}

export interface BuiltinContext {
  readonly step: string;
  /** The project folder: relative paths in `with` and all outputs are resolved against it. */
  readonly cwd: string;
  readonly workspace: Workspace;
  readonly pipelineRunId?: string;
  readonly signal: AbortSignal;
  log(message: string): void;
}

export interface BuiltinStep<W> {
  readonly name: string;
  /** Part of every cache key: bump it when the built-in's results change for the same inputs. */
  readonly version: string;
  readonly description: string;
  readonly schema: z.ZodType<W>;
  io(step: string, input: W): BuiltinIo;
  run(ctx: BuiltinContext, input: W, io: BuiltinIo): Promise<void>;
}
