// One attempt of a step: clearing its outputs, its environment and params, the shell command or function, its metrics.
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { stepOutputs } from "./plan.ts";
import { runCommand } from "./process.ts";
import type { Workspace } from "../workspace.ts";
import type { ParamValue, StepSpec } from "./types.ts";

/** What an in-process step may use besides its params: the run it belongs to and the stores. */
export interface StepFunctionContext {
  readonly pipelineRunId?: string;
  readonly workspace?: Workspace;
}

export interface AttemptResult {
  readonly ok: boolean;
  /** False for mistakes a retry cannot fix (a missing param, a shell that cannot start). */
  readonly retryable: boolean;
  readonly log: Buffer;
  readonly error: string;
}

/** The process environment plus the step's env, its params as JSON and as LOOPML_PARAM_<KEY>. */
export function stepEnv(
  spec: StepSpec,
  params: Readonly<Record<string, ParamValue>>,
  pipeline: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...spec.env,
    LOOPML_PIPELINE: pipeline,
    LOOPML_STEP: spec.name,
    LOOPML_PARAMS: JSON.stringify(params),
  };
  for (const [k, v] of Object.entries(params))
    env[`LOOPML_PARAM_${k.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`] = paramText(v);
  return env;
}

/** Replaces ${params.KEY} in a command; an unknown key is an error rather than an empty string. */
export function substituteParams(
  command: string,
  params: Readonly<Record<string, ParamValue>>,
  step: string,
): string | AttemptResult {
  let unknown: string | undefined;
  const out = command.replace(/\$\{params\.([A-Za-z0-9_.-]+)\}/g, (_m, key: string) => {
    const v = params[key];
    if (v === undefined) {
      unknown ??= key;
      return "";
    }
    return paramText(v);
  });
  if (unknown === undefined) return out;
  return {
    ok: false,
    retryable: false,
    log: Buffer.alloc(0),
    error: `Step "${step}" uses \${params.${unknown}} but declares no param "${unknown}". Add it to the step's params.`,
  };
}

function paramText(v: ParamValue): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Runs an in-process step function; a timeout aborts its signal and fails the attempt. */
export async function runStepFunction(
  spec: StepSpec,
  params: Readonly<Record<string, ParamValue>>,
  cwd: string,
  signal?: AbortSignal,
  context: StepFunctionContext = {},
): Promise<AttemptResult> {
  const fn = spec.fn;
  if (!fn)
    return {
      ok: false,
      retryable: false,
      log: Buffer.alloc(0),
      error: `Step "${spec.name}" has no function.`,
    };
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const lines: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<"timeout">((res) => {
      if (spec.timeoutMs !== undefined) timer = setTimeout(() => res("timeout"), spec.timeoutMs);
    });
    const outcome = await Promise.race([
      Promise.resolve(
        fn({
          cwd,
          params,
          signal: controller.signal,
          log: (m) => lines.push(m),
          step: spec.name,
          ...context,
        }),
      ).then(() => "done" as const),
      timeout,
    ]);
    const log = Buffer.from(lines.join("\n"), "utf8");
    if (outcome === "timeout") {
      controller.abort();
      return {
        ok: false,
        retryable: true,
        log,
        error: `Step "${spec.name}" timed out after ${(spec.timeoutMs ?? 0) / 1000} s.`,
      };
    }
    return { ok: true, retryable: false, log, error: "" };
  } catch (e) {
    return {
      ok: false,
      retryable: true,
      log: Buffer.from(lines.join("\n"), "utf8"),
      error: `Step "${spec.name}" threw: ${e instanceof Error ? e.message : String(e)}`,
    };
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** One attempt of a step: clears its declared outputs, then runs its command or function. */
export async function attemptStep(
  spec: StepSpec,
  params: Readonly<Record<string, ParamValue>>,
  pipeline: string,
  projectDir: string,
  options: {
    readonly signal?: AbortSignal;
    readonly onOutput?: (step: string, stream: "stdout" | "stderr", chunk: Buffer) => void;
    /** Added to the step's environment, e.g. the content ids of its dataset inputs. */
    readonly env?: Readonly<Record<string, string>>;
    readonly context?: StepFunctionContext;
  },
): Promise<AttemptResult> {
  // Declared outputs are removed first, so a stale file from an earlier run cannot pass as written.
  for (const out of stepOutputs(spec)) {
    const abs = join(projectDir, out);
    await rm(abs, { recursive: true, force: true });
    await mkdir(dirname(abs), { recursive: true });
  }
  if (spec.fn) return runStepFunction(spec, params, projectDir, options.signal, options.context);
  const command = substituteParams(spec.run ?? "", params, spec.name);
  if (typeof command !== "string") return command;
  const r = await runCommand(command, {
    cwd: projectDir,
    env: { ...stepEnv(spec, params, pipeline), ...options.env },
    ...(spec.timeoutMs !== undefined && { timeoutMs: spec.timeoutMs }),
    ...(options.signal && { signal: options.signal }),
    ...(options.onOutput && {
      onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => options.onOutput?.(spec.name, stream, chunk),
    }),
  });
  if (r.spawnError !== undefined)
    return {
      ok: false,
      retryable: false,
      log: r.log,
      error: `Step "${spec.name}" could not start /bin/sh: ${r.spawnError}`,
    };
  if (r.timedOut)
    return {
      ok: false,
      retryable: true,
      log: r.log,
      error: `Step "${spec.name}" timed out after ${(spec.timeoutMs ?? 0) / 1000} s; its whole process tree was killed.${tail(r.stderrTail)}`,
    };
  if (r.exitCode === 0) return { ok: true, retryable: false, log: r.log, error: "" };
  const how =
    r.exitCode === 127
      ? `exited with 127 (command not found: check "${command.split(/\s/)[0] ?? ""}")`
      : r.exitCode !== null
        ? `exited with ${r.exitCode}`
        : `was killed by ${r.signal ?? "a signal"}`;
  return {
    ok: false,
    retryable: true,
    log: r.log,
    error: `Step "${spec.name}" ${how}.${tail(r.stderrTail || r.stdoutTail)}`,
  };
}

function tail(text: string): string {
  const t = text.trimEnd();
  if (t === "") return "";
  const lines = t.split("\n").slice(-15).join("\n");
  return `\n--- last output ---\n${lines.length > 2000 ? lines.slice(-2000) : lines}`;
}

/** The numbers of a metrics JSON file by dotted path, or an error message. */
export async function readMetrics(abs: string, step: string): Promise<Record<string, number> | string> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(abs, "utf8")) as unknown;
  } catch (e) {
    return `Step "${step}" wrote a metrics file that is not JSON: ${(e as Error).message}`;
  }
  const out: Record<string, number> = {};
  const walk = (v: unknown, prefix: string): void => {
    if (typeof v === "number" && Number.isFinite(v)) out[prefix] = v;
    else if (v !== null && typeof v === "object" && !Array.isArray(v))
      for (const [k, x] of Object.entries(v)) walk(x, prefix === "" ? k : `${prefix}.${k}`);
  };
  walk(value, "");
  return out;
}
