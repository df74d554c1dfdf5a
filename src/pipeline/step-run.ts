// What one attempt of a step needs besides the shell: its environment, param substitution, function steps.
import type { ParamValue, StepSpec } from "./types.ts";

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
      Promise.resolve(fn({ cwd, params, signal: controller.signal, log: (m) => lines.push(m) })).then(
        () => "done" as const,
      ),
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
