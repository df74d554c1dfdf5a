// The built-in steps by name, and how `uses: NAME` + `with: {...}` becomes an ordinary StepSpec.
import { LoopmlError } from "../../errors.ts";
import { normalizeRelPath } from "../parse.ts";
import type { DepRef, ParamValue, StepContext, StepSpec } from "../types.ts";
import { automlStep } from "./automl.ts";
import { driftCheckStep } from "./drift-check.ts";
import { evaluateStep } from "./evaluate.ts";
import { promoteStep, registerStep } from "./registry.ts";
import type { BuiltinStep } from "./types.ts";

// Each entry is typed by its own schema; the map only needs to look them up by name.
const BUILTINS: ReadonlyMap<string, BuiltinStep<never>> = new Map(
  [automlStep, evaluateStep, registerStep, promoteStep, driftCheckStep].map((b) => [
    b.name,
    b as unknown as BuiltinStep<never>,
  ]),
);

export const BUILTIN_NAMES: readonly string[] = [...BUILTINS.keys()];

export interface BuiltinExtras {
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** Further deps the built-in should wait for, e.g. a step whose side effect it needs. */
  readonly deps?: readonly DepRef[];
}

/**
 * The StepSpec of `uses: NAME` with its `with` values: they are validated now, become the step's params
 * (so they and the built-in's version enter the cache key) and imply its deps and outs.
 * @example
 * builtinSpec("train", "automl", { data: "dataset:flights@latest", target: "late", budget: "30s" });
 */
export function builtinSpec(
  step: string,
  uses: string,
  withValues: Readonly<Record<string, ParamValue>>,
  extras: BuiltinExtras = {},
  where = `step "${step}"`,
): StepSpec {
  const builtin = BUILTINS.get(uses);
  if (!builtin)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${where}: unknown built-in "${uses}" (built-ins: ${BUILTIN_NAMES.join(", ")}).`,
    );
  const parsed = builtin.schema.safeParse(withValues);
  if (!parsed.success)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${where}: "with" for ${uses} is invalid: ${parsed.error.issues
        .map((i) => `${i.path.join(".") || "(with)"}: ${i.message}`)
        .join("; ")}.`,
    );
  const input = parsed.data;
  const io = builtin.io(step, input);
  const rel = (p: string): string =>
    normalizeRelPath(p) ??
    (() => {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${where}: "${p}" must be a relative path inside the project.`,
      );
    })();
  const deps = [...io.deps, ...(extras.deps ?? [])].map((d) =>
    d.kind === "path" ? { kind: "path" as const, path: rel(d.path) } : d,
  );
  const fn = async (ctx: StepContext): Promise<void> => {
    if (!ctx.workspace)
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `Built-in step "${step}" (${uses}) needs a workspace: run it through loopml run or pipelineDeps(ws).`,
      );
    await builtin.run(
      {
        step,
        cwd: ctx.cwd,
        workspace: ctx.workspace,
        ...(ctx.pipelineRunId !== undefined && { pipelineRunId: ctx.pipelineRunId }),
        signal: ctx.signal,
        log: (m) => ctx.log(m),
      },
      input,
      io,
    );
  };
  return {
    name: step,
    uses: { name: uses, version: builtin.version, with: withValues },
    fn,
    code: `builtin:${uses}@${builtin.version}`,
    deps,
    params: Object.entries(withValues).map(([key, value]) => ({ kind: "value" as const, key, value })),
    outs: io.outs.map(rel),
    ...(io.metrics !== undefined && { metrics: rel(io.metrics) }),
    env: { ...extras.env },
    ...(extras.timeoutMs !== undefined && { timeoutMs: extras.timeoutMs }),
    retries: extras.retries ?? 0,
  };
}
