// Resolves each step's params: inline values, keys of params files, and --param overrides.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { LoopmlError } from "../errors.ts";
import type { Dag } from "./plan.ts";
import type { ParamValue } from "./types.ts";

/**
 * Overrides apply to every selected step that declares the key; an override no step declares is an
 * error, because a typo would otherwise silently run with the old value.
 * @example
 * const params = await resolveParams(dag, selected, ".", { "train.lr": "0.05" });
 */
export async function resolveParams(
  dag: Dag,
  selected: ReadonlySet<string>,
  projectDir: string,
  overrides: Readonly<Record<string, string>> = {},
): Promise<Map<string, Record<string, ParamValue>>> {
  const files = new Map<string, unknown>();
  const readParamsFile = async (file: string, step: string): Promise<unknown> => {
    if (files.has(file)) return files.get(file);
    let text: string;
    try {
      text = await readFile(join(projectDir, file), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Step "${step}" reads params from ${file}, which does not exist. Create it or give the values inline.`,
      );
    }
    let value: unknown;
    try {
      value = parse(text) as unknown;
    } catch (e) {
      throw new LoopmlError("INVALID_ARGUMENT", `${file} is not valid YAML/JSON: ${(e as Error).message}`);
    }
    files.set(file, value);
    return value;
  };

  const used = new Set<string>();
  const out = new Map<string, Record<string, ParamValue>>();
  for (const name of dag.order) {
    if (!selected.has(name)) continue;
    const resolved: Record<string, ParamValue> = {};
    for (const p of dag.steps.get(name)?.spec.params ?? []) {
      if (p.kind === "value") resolved[p.key] = p.value;
      else {
        const value = lookup(await readParamsFile(p.file, name), p.key);
        if (value === undefined && overrides[p.key] === undefined)
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            `Step "${name}" needs param "${p.key}" but ${p.file} has no such key. Add it to ${p.file} or pass --param ${p.key}=VALUE.`,
            { step: name, file: p.file, key: p.key },
          );
        if (value !== undefined) resolved[p.key] = value;
      }
      const o = overrides[p.key];
      if (o !== undefined) {
        resolved[p.key] = parseOverride(o);
        used.add(p.key);
      }
    }
    out.set(name, resolved);
  }
  const unused = Object.keys(overrides).filter((k) => !used.has(k));
  if (unused.length > 0)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `--param ${unused.join(", ")}: no selected step of pipeline "${dag.pipeline}" declares ${unused.length > 1 ? "these params" : "this param"}.`,
    );
  return out;
}

/** "--param k=v" pairs into a record; the value is read as YAML, so 0.1 is a number and true a boolean. */
export function parseParamArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf("=");
    if (i <= 0)
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `--param "${a}" must look like KEY=VALUE, e.g. --param train.lr=0.05.`,
      );
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

function parseOverride(v: string): ParamValue {
  try {
    const parsed = parse(v) as unknown;
    return parsed === undefined ? v : (parsed as ParamValue);
  } catch {
    return v;
  }
}

function lookup(doc: unknown, key: string): ParamValue | undefined {
  let cur: unknown = doc;
  for (const part of key.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur as ParamValue | undefined;
}
