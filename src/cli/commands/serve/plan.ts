// What `loopml serve` was asked to serve: model files, registered model aliases, or a stored deployment, plus canary and shadow flags.
import { existsSync } from "node:fs";
import { LoopmlError } from "../../../errors.ts";
import type { DeploymentSpec } from "../../../serving/deployments.ts";

const REF_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}@[A-Za-z][A-Za-z0-9_-]{0,99}$/;

export type ServeSource =
  | { readonly kind: "file"; readonly name: string; readonly file: string }
  | { readonly kind: "registry"; readonly ref: string };

/** `NAME=FILE`, an existing file, or `NAME@ALIAS` of a registered model. */
export function parseServeArgument(arg: string, name?: string): ServeSource {
  const eq = arg.indexOf("=");
  if (eq > 0) return { kind: "file", name: arg.slice(0, eq), file: arg.slice(eq + 1) };
  if (existsSync(arg)) {
    const base = arg.split(/[\\/]/).pop() ?? arg;
    return { kind: "file", name: name ?? base.replace(/\.[^.]*$/, ""), file: arg };
  }
  if (REF_RE.test(arg)) return { kind: "registry", ref: arg };
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `"${arg}" is neither a model file nor a registered model alias; pass FILE, NAME=FILE or NAME@ALIAS (e.g. churn@production).`,
  );
}

/** `churn@challenger:10%` or `churn@challenger:0.1` → a canary of a deployment spec. */
export function parseCanary(value: string): NonNullable<DeploymentSpec["canary"]> {
  const colon = value.lastIndexOf(":");
  const ref = colon < 0 ? "" : value.slice(0, colon);
  const share = colon < 0 ? "" : value.slice(colon + 1);
  const percent = share.endsWith("%");
  const n = Number(percent ? share.slice(0, -1) : share);
  const weight = percent ? n / 100 : n;
  if (!REF_RE.test(ref) || share === "" || !(weight >= 0 && weight <= 1)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `--canary "${value}" must be NAME@ALIAS:SHARE with a share of traffic such as 10% or 0.1, e.g. churn@challenger:10%.`,
    );
  }
  return { model: ref, weight };
}

export function parseRef(value: string, flag: string): string {
  if (!REF_RE.test(value)) {
    throw new LoopmlError("INVALID_ARGUMENT", `${flag} "${value}" must be NAME@ALIAS, e.g. churn@next.`);
  }
  return value;
}

export function parseShare(value: string, flag: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1) || value.trim() === "") {
    throw new LoopmlError("INVALID_ARGUMENT", `${flag} "${value}" must be a number between 0 and 1.`);
  }
  return n;
}

export function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new LoopmlError("INVALID_ARGUMENT", `${flag} "${value}" must be a positive number.`);
  }
  return n;
}
