// Argument checks shared by every tracking entry point (library, CLI, HTTP), done once above the store.
import { posix } from "node:path";
import { LoopmlError } from "../errors.ts";
import type { KeyValue, MetricInput } from "./types.ts";

const KEY_RE = /^[A-Za-z0-9_\-. /:]+$/;
export const MAX_KEY = 250;
export const MAX_PARAM_VALUE = 6000;
export const MAX_TAG_VALUE = 8000;

export function checkKey(kind: string, key: unknown): string {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY || !KEY_RE.test(key)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${kind} key ${JSON.stringify(key)} is invalid: use 1–${MAX_KEY} letters, digits, "_", "-", ".", " ", "/" or ":".`,
      { key },
    );
  }
  if (key.split("/").includes("..")) {
    throw new LoopmlError("INVALID_ARGUMENT", `${kind} key "${key}" must not contain a ".." segment.`, {
      key,
    });
  }
  return key;
}

export function checkKeyValues(kind: string, entries: readonly KeyValue[], maxValue: number): void {
  for (const e of entries) {
    checkKey(kind, e.key);
    if (typeof e.value !== "string") {
      throw new LoopmlError("INVALID_ARGUMENT", `${kind} "${e.key}" must have a string value.`, {
        key: e.key,
      });
    }
    if (e.value.length > maxValue) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${kind} "${e.key}" has a value of ${e.value.length} characters; the limit is ${maxValue}.`,
        { key: e.key },
      );
    }
  }
}

/** NaN and ±Infinity are valid metric values (kept as such); anything that is not a number is not. */
export function checkMetrics(metrics: readonly MetricInput[]): void {
  // A batch repeats a handful of keys thousands of times: check each distinct key once.
  let lastKey: string | undefined;
  const checked = new Set<string>();
  for (const m of metrics) {
    if (m.key !== lastKey) {
      if (!checked.has(m.key)) {
        checkKey("Metric", m.key);
        checked.add(m.key);
      }
      lastKey = m.key;
    }
    if (typeof m.value !== "number") {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Metric "${m.key}" has value ${JSON.stringify(m.value)}, which is not a number.`,
        { key: m.key },
      );
    }
    if (m.step !== undefined && !Number.isSafeInteger(m.step)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Metric "${m.key}" has step ${m.step}; steps are whole numbers.`,
      );
    }
    if (m.timestamp !== undefined && !Number.isFinite(m.timestamp)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Metric "${m.key}" has timestamp ${m.timestamp}; use milliseconds since the epoch.`,
      );
    }
  }
}

/** A relative "/"-separated path inside the run's artifact tree: never absolute, never "..". */
export function checkArtifactPath(path: string): string {
  const bad = (why: string): never => {
    throw new LoopmlError("INVALID_ARGUMENT", `Artifact path "${path}" ${why}.`, { path });
  };
  if (typeof path !== "string" || path.length === 0) bad("is empty");
  if (path.length > 1000) bad("is longer than 1000 characters");
  if (path.includes("\\")) bad('contains "\\": use "/" to separate folders');
  if (path.includes("\0")) bad("contains a NUL character");
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path))
    bad("is absolute: give a path relative to the run's artifacts");
  const segments = path.split("/");
  if (segments.includes("..")) bad('contains "..": artifacts cannot point outside the run');
  if (segments.some((s) => s === "" || s === ".")) bad('has an empty or "." segment');
  return posix.normalize(path);
}

/** `NAME@VERSION`, as `loopml data` prints dataset versions. */
export function parseDatasetRef(ref: string): { dataset: string; version: string } {
  const m = /^([A-Za-z0-9_.-]{1,100})@([A-Za-z0-9_.-]{1,100})$/.exec(ref);
  if (!m?.[1] || !m[2]) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Dataset input "${ref}" is not NAME@VERSION (e.g. flights@3); list versions with loopml data versions NAME.`,
      { ref },
    );
  }
  return { dataset: m[1], version: m[2] };
}
