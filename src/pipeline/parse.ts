// Reads the `pipelines:` section of loopml.yaml into PipelineSpecs, with errors that name the line and key.
import { LineCounter, parseDocument, type Document } from "yaml";
import { LoopmlError } from "../errors.ts";
import { BUILTIN_NAMES, builtinSpec } from "./builtins/index.ts";
import type { DepRef, ParamSource, ParamValue, PipelineSpec, StepSpec } from "./types.ts";

type Path = readonly (string | number)[];

const STEP_KEYS = new Set([
  "run",
  "cmd",
  "deps",
  "params",
  "outs",
  "metrics",
  "env",
  "timeout",
  "retries",
  "resources",
  "desc",
  "uses",
  "with",
]);
const BUILTIN_KEYS = new Set(["uses", "with", "deps", "env", "timeout", "retries", "desc"]);
const PIPELINE_KEYS = new Set(["stages", "steps", "description", "params"]);
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const DEFAULT_PARAMS_FILE = "params.yaml";
const MAX_RETRIES = 20;

/**
 * Parses every pipeline of a loopml.yaml text. `file` is only used in messages.
 * @example
 * const pipelines = parsePipelinesYaml(readFileSync("loopml.yaml", "utf8"));
 * pipelines.get("train")?.steps.map((s) => s.name);
 */
export function parsePipelinesYaml(text: string, file = "loopml.yaml"): Map<string, PipelineSpec> {
  const { root, where } = readYaml(text, file);
  const out = new Map<string, PipelineSpec>();
  const section = root["pipelines"];
  if (section === undefined || section === null) return out;
  const p = new Parser(where);
  const pipelines = p.record(section, ["pipelines"]);
  for (const [name, def] of Object.entries(pipelines)) {
    out.set(name, p.pipeline(name, def, ["pipelines", name]));
  }
  return out;
}

/** A YAML document as a JS record, and a function naming the file:line of any key path in it. */
export function readYaml(
  text: string,
  file: string,
): { root: Record<string, unknown>; where: (path: readonly (string | number)[]) => string } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const first = doc.errors[0];
  if (first) throw new LoopmlError("INVALID_ARGUMENT", `${file} is not valid YAML: ${first.message}`);
  let root: unknown;
  try {
    // Unresolved aliases and alias bombs only surface when the document is turned into values.
    root = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${file} is not valid YAML: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (root !== null && root !== undefined && !isRecord(root))
    throw new LoopmlError("INVALID_ARGUMENT", `${file}: the document must be a mapping.`);
  return { root: root ?? {}, where: (path) => locate(doc, lineCounter, file, path) };
}

/** Parses one pipeline definition that is already a JS value (no line numbers in errors). */
export function parsePipelineValue(name: string, value: unknown): PipelineSpec {
  return new Parser((path) => `pipelines.${formatPath(path)}`).pipeline(name, value, [name]);
}

class Parser {
  constructor(private readonly where: (path: Path) => string) {}

  fail(path: Path, message: string): never {
    throw new LoopmlError("INVALID_ARGUMENT", `${this.where(path)}: ${message}`, { path: formatPath(path) });
  }

  record(v: unknown, path: Path): Record<string, unknown> {
    if (!isRecord(v)) this.fail(path, "must be a mapping of names to definitions.");
    return v;
  }

  pipeline(name: string, def: unknown, path: Path): PipelineSpec {
    if (!NAME.test(name)) this.fail(path, `"${name}" is not a valid pipeline name (letters, digits, _ . -).`);
    const d = this.record(def, path);
    for (const key of Object.keys(d))
      if (!PIPELINE_KEYS.has(key))
        this.fail(
          [...path, key],
          `unknown key "${key}" (expected one of: ${[...PIPELINE_KEYS].join(", ")}).`,
        );
    const stagesKey = d["stages"] !== undefined ? "stages" : "steps";
    const stages = d[stagesKey];
    if (stages === undefined) this.fail(path, 'has no "stages:" (each stage needs at least "run:").');
    const paramsFile =
      d["params"] === undefined ? DEFAULT_PARAMS_FILE : this.relPath(d["params"], [...path, "params"]);
    const steps = Object.entries(this.record(stages, [...path, stagesKey])).map(([stepName, s]) =>
      this.step(stepName, s, [...path, stagesKey, stepName], paramsFile),
    );
    if (steps.length === 0) this.fail([...path, stagesKey], "must define at least one stage.");
    return { name, steps };
  }

  step(name: string, def: unknown, path: Path, paramsFile: string): StepSpec {
    if (!NAME.test(name)) this.fail(path, `"${name}" is not a valid stage name (letters, digits, _ . -).`);
    const d = this.record(def, path);
    for (const key of Object.keys(d))
      if (!STEP_KEYS.has(key))
        this.fail([...path, key], `unknown key "${key}" (expected one of: ${[...STEP_KEYS].join(", ")}).`);
    if (d["uses"] !== undefined) return this.builtin(name, d, path);
    const runKey = d["cmd"] !== undefined && d["run"] === undefined ? "cmd" : "run";
    const run = d[runKey];
    if (typeof run !== "string" || run.trim() === "")
      this.fail([...path, runKey], 'needs "run:", a non-empty shell command.');
    const metrics = d["metrics"] === undefined ? undefined : this.relPath(d["metrics"], [...path, "metrics"]);
    const outs = this.list(d["outs"], [...path, "outs"]).map((o, i) => this.relPath(o, [...path, "outs", i]));
    const timeoutMs =
      d["timeout"] === undefined ? undefined : this.duration(d["timeout"], [...path, "timeout"]);
    const resources =
      d["resources"] === undefined ? undefined : this.resources(d["resources"], [...path, "resources"]);
    return {
      name,
      run,
      deps: this.list(d["deps"], [...path, "deps"]).map((v, i) => this.dep(v, [...path, "deps", i])),
      params: this.params(d["params"], [...path, "params"], paramsFile),
      outs,
      ...(metrics !== undefined && { metrics }),
      env: this.env(d["env"], [...path, "env"]),
      ...(timeoutMs !== undefined && { timeoutMs }),
      retries: this.retries(d["retries"], [...path, "retries"]),
      ...(resources !== undefined && { resources }),
    };
  }

  /** `uses: automl` with `with: {...}`: the built-in implies its deps and outs; only env, timeout, retries and extra deps may be added. */
  builtin(name: string, d: Record<string, unknown>, path: Path): StepSpec {
    const uses = d["uses"];
    if (typeof uses !== "string")
      this.fail([...path, "uses"], `must name a built-in (${BUILTIN_NAMES.join(", ")}).`);
    for (const key of Object.keys(d))
      if (!BUILTIN_KEYS.has(key))
        this.fail(
          [...path, key],
          `"${key}" is not allowed with "uses:" (allowed: ${[...BUILTIN_KEYS].join(", ")}).`,
        );
    const withValues: Record<string, ParamValue> = {};
    if (d["with"] !== undefined)
      for (const [k, v] of Object.entries(this.record(d["with"], [...path, "with"])))
        withValues[k] = this.paramValue(v, [...path, "with", k]);
    const timeoutMs =
      d["timeout"] === undefined ? undefined : this.duration(d["timeout"], [...path, "timeout"]);
    return builtinSpec(
      name,
      uses,
      withValues,
      {
        env: this.env(d["env"], [...path, "env"]),
        ...(timeoutMs !== undefined && { timeoutMs }),
        retries: this.retries(d["retries"], [...path, "retries"]),
        deps: this.list(d["deps"], [...path, "deps"]).map((v, i) => this.dep(v, [...path, "deps", i])),
      },
      this.where([...path, "with"]),
    );
  }

  list(v: unknown, path: Path): unknown[] {
    if (v === undefined || v === null) return [];
    if (typeof v === "string") return [v];
    if (!Array.isArray(v)) this.fail(path, "must be a list.");
    return v as unknown[];
  }

  relPath(v: unknown, path: Path): string {
    if (typeof v !== "string" || v.trim() === "") this.fail(path, "must be a non-empty relative path.");
    const p = normalizeRelPath(v);
    if (p === undefined)
      this.fail(path, `"${v}" must be a relative path inside the project (no "..", not absolute).`);
    return p;
  }

  dep(v: unknown, path: Path): DepRef {
    if (typeof v !== "string") this.fail(path, 'must be a path or "dataset:NAME@VERSION|latest".');
    if (v.startsWith("dataset:")) return parseDatasetDep(v, (m) => this.fail(path, m));
    return { kind: "path", path: this.relPath(v, path) };
  }

  params(v: unknown, path: Path, paramsFile: string): ParamSource[] {
    if (v === undefined || v === null) return [];
    const out: ParamSource[] = [];
    if (isRecord(v)) {
      for (const [key, value] of Object.entries(v))
        out.push({ kind: "value", key, value: this.paramValue(value, [...path, key]) });
      return out;
    }
    this.list(v, path).forEach((item, i) => {
      if (typeof item === "string") {
        out.push({ kind: "file", key: this.paramKey(item, [...path, i]), file: paramsFile });
      } else if (isRecord(item)) {
        // { "other-params.yaml": [train.lr, train.depth] } or { lr: 0.1 } inline values
        for (const [k, keys] of Object.entries(item)) {
          if (Array.isArray(keys)) {
            const file = this.relPath(k, [...path, i, k]);
            keys.forEach((key, j) =>
              out.push({ kind: "file", key: this.paramKey(key, [...path, i, k, j]), file }),
            );
          } else {
            out.push({ kind: "value", key: k, value: this.paramValue(keys, [...path, i, k]) });
          }
        }
      } else
        this.fail([...path, i], 'must be a params-file key ("train.lr"), {FILE: [keys]} or {key: value}.');
    });
    return out;
  }

  paramKey(v: unknown, path: Path): string {
    if (typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(v))
      this.fail(path, "must be a params key such as train.lr (letters, digits, _ . -).");
    return v;
  }

  paramValue(v: unknown, path: Path): ParamValue {
    if (typeof v === "number" && !Number.isFinite(v)) this.fail(path, "must be a finite number.");
    if (v instanceof Date) return v.toISOString();
    if (v === undefined) this.fail(path, "has no value.");
    return v as ParamValue;
  }

  env(v: unknown, path: Path): Record<string, string> {
    if (v === undefined || v === null) return {};
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(this.record(v, path))) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        this.fail([...path, k], `"${k}" is not a valid environment variable name.`);
      if (typeof val !== "string" && typeof val !== "number" && typeof val !== "boolean")
        this.fail([...path, k], "must be a string, number or boolean.");
      out[k] = String(val);
    }
    return out;
  }

  duration(v: unknown, path: Path): number {
    const ms = parseDuration(v);
    if (ms === undefined) this.fail(path, 'must be a duration such as 90 (seconds), "30s", "10m" or "2h".');
    return ms;
  }

  retries(v: unknown, path: Path): number {
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_RETRIES)
      this.fail(path, `must be a whole number from 0 to ${MAX_RETRIES}.`);
    return v;
  }

  resources(v: unknown, path: Path): { cpu?: number; memory?: string } {
    const r = this.record(v, path);
    const out: { cpu?: number; memory?: string } = {};
    for (const [k, val] of Object.entries(r)) {
      if (k === "cpu" && typeof val === "number" && val > 0) out.cpu = val;
      else if (k === "memory" && (typeof val === "string" || typeof val === "number"))
        out.memory = String(val);
      else this.fail([...path, k], 'expected "cpu" (a number > 0) or "memory" (e.g. "2Gi").');
    }
    return out;
  }
}

export function parseDatasetDep(v: string, fail: (message: string) => never): DepRef {
  const m = /^dataset:([A-Za-z0-9][A-Za-z0-9_.-]*)(?:@(latest|\d+))?$/.exec(v);
  if (!m?.[1]) return fail(`"${v}" must look like dataset:NAME@VERSION or dataset:NAME@latest.`);
  const version = m[2] === undefined || m[2] === "latest" ? "latest" : Number(m[2]);
  if (version !== "latest" && version < 1) return fail(`"${v}": dataset versions start at 1.`);
  return { kind: "dataset", name: m[1], version };
}

/** "./data//x/" → "data/x"; undefined when absolute or escaping the project. */
export function normalizeRelPath(p: string): string | undefined {
  if (p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p) || p.includes("\0")) return undefined;
  const parts: string[] = [];
  for (const seg of p.replace(/\\/g, "/").split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return undefined;
    parts.push(seg);
  }
  return parts.length === 0 ? undefined : parts.join("/");
}

/** Milliseconds from 90 (seconds), "90s", "10m", "2h", "500ms"; undefined when malformed or not positive. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"] ?? 1000;
  return n > 0 ? Math.round(n * unit) : undefined;
}

function locate(doc: Document, lines: LineCounter, file: string, path: Path): string {
  // The deepest node that exists carries the line; a missing key is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return `${file}:${lines.linePos(node.range[0]).line} ${formatPath(path)}`;
  }
  return `${file} ${formatPath(path)}`;
}

function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
