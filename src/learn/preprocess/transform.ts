// Applies fitted column plans to a frame: the same code runs in training, batch prediction and serving.
import { LoopmlError } from "../../errors.ts";
import type { Column, Frame } from "../frame.ts";
import type { ColumnPlan, DatetimePart, Scaling } from "./types.ts";

/** Names of the columns a plan produces, in order. */
export function outputNames(plan: ColumnPlan): string[] {
  const names: string[] = [];
  switch (plan.kind) {
    case "numeric":
      names.push(plan.name);
      break;
    case "datetime":
      for (const p of plan.parts) names.push(`${plan.name}__${p.part}`);
      break;
    case "onehot":
      for (const c of plan.categories) names.push(`${plan.name}=${c}`);
      break;
    case "target": {
      const k = plan.prior?.length ?? 1;
      for (let o = 0; o < k; o++) names.push(k === 1 ? `${plan.name}__target` : `${plan.name}__target${o}`);
      break;
    }
    default:
      names.push(plan.name);
  }
  if (plan.indicator) names.push(`${plan.name}__missing`);
  return names;
}

/**
 * The input column of a plan, checked: present, of the right kind, no infinities. Categorical codes
 * come back mapped onto the plan's training categories (-1 for missing or unseen).
 */
export function inputColumn(frame: Frame, plan: ColumnPlan, purpose: string): Float64Array | Int32Array {
  const column = frame.columns.find((c) => c.name === plan.name);
  if (!column) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${purpose}: the model needs column "${plan.name}" but the data has no such column (columns: ${frame.columns.map((c) => c.name).join(", ") || "none"}); pass data with the training columns.`,
    );
  }
  const wantNumeric = plan.kind === "numeric" || plan.kind === "datetime";
  if (wantNumeric !== (column.kind === "numeric")) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${purpose}: column "${plan.name}" is ${column.kind} but the model was trained on it as ${wantNumeric ? "numeric" : "categorical"}; convert it.`,
    );
  }
  if (column.kind === "numeric") {
    checkFinite(column.values, plan.name, purpose);
    return column.values;
  }
  return remapCodes(column, (plan as { categories: readonly string[] }).categories);
}

export function checkFinite(values: Float64Array, name: string, purpose: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v === Infinity || v === -Infinity) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `${purpose}: column "${name}" holds ${v} at row ${i}; replace infinities with finite values or NaN (missing).`,
      );
    }
  }
}

function remapCodes(
  column: Extract<Column, { kind: "categorical" }>,
  categories: readonly string[],
): Int32Array {
  const index = new Map(categories.map((c, i) => [c, i] as const));
  const remap = Int32Array.from(column.dictionary, (d) => index.get(d) ?? -1);
  const out = new Int32Array(column.codes.length);
  for (let i = 0; i < out.length; i++) {
    const c = column.codes[i] as number;
    out[i] = c < 0 ? -1 : (remap[c] as number);
  }
  return out;
}

/** Transforms the frame column by column; `targetOverride` supplies out-of-fold encodings during fit. */
export function applyPlans(
  plans: readonly ColumnPlan[],
  frame: Frame,
  purpose: string,
  targetOverride?: ReadonlyMap<string, Float64Array[]>,
): Column[] {
  const out: Column[] = [];
  const n = frame.nRows;
  for (const plan of plans) {
    const input = inputColumn(frame, plan, purpose);
    const push = (suffixName: string, values: Float64Array): void => {
      out.push({ kind: "numeric", name: suffixName, values });
    };
    const names = outputNames(plan);
    if (plan.kind === "numeric") {
      const x = input as Float64Array;
      const values = new Float64Array(n);
      const fill = plan.fill ?? NaN;
      for (let i = 0; i < n; i++) {
        const v = x[i] as number;
        values[i] = v === v ? v : fill;
      }
      scaleInPlace(values, plan.scaling);
      push(plan.name, values);
    } else if (plan.kind === "datetime") {
      const x = input as Float64Array;
      plan.parts.forEach((p, j) => {
        const values = datetimePart(x, p.part, p.fill ?? NaN);
        scaleInPlace(values, p.scaling);
        push(names[j] as string, values);
      });
    } else {
      const codes = input as Int32Array;
      const filled = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const c = codes[i] as number;
        filled[i] = c < 0 ? plan.fill : c;
      }
      if (plan.kind === "native") {
        out.push({ kind: "categorical", name: plan.name, codes: filled, dictionary: plan.categories });
      } else if (plan.kind === "onehot") {
        // A missing or unseen category (without a fill) is all zeros: no training category is active.
        const cols = plan.categories.map(() => new Float64Array(n));
        for (let i = 0; i < n; i++) {
          const c = filled[i] as number;
          if (c >= 0) (cols[c] as Float64Array)[i] = 1;
        }
        cols.forEach((values, j) => push(names[j] as string, values));
      } else if (plan.kind === "ordinal") {
        const values = Float64Array.from(filled, (c) => (c < 0 ? NaN : c));
        scaleInPlace(values, plan.scaling?.[0] ?? null);
        push(names[0] as string, values);
      } else {
        const prior = plan.prior ?? [0];
        const enc = plan.encodings ?? [];
        const k = prior.length;
        const given = targetOverride?.get(plan.name);
        for (let o = 0; o < k; o++) {
          let values: Float64Array;
          if (given) values = Float64Array.from(given[o] as Float64Array);
          else {
            values = new Float64Array(n);
            for (let i = 0; i < n; i++) {
              const c = filled[i] as number;
              values[i] = c < 0 ? (prior[o] as number) : (enc[c * k + o] as number);
            }
          }
          scaleInPlace(values, plan.scaling?.[o] ?? null);
          push(names[o] as string, values);
        }
      }
    }
    if (plan.indicator) {
      const values = new Float64Array(n);
      if (plan.kind === "numeric" || plan.kind === "datetime") {
        const x = input as Float64Array;
        for (let i = 0; i < n; i++) values[i] = (x[i] as number) !== (x[i] as number) ? 1 : 0;
      } else {
        // Unseen categories count as missing: the model never saw them, so it treats them like a gap.
        const codes = input as Int32Array;
        for (let i = 0; i < n; i++) values[i] = (codes[i] as number) < 0 ? 1 : 0;
      }
      push(names[names.length - 1] as string, values);
    }
  }
  return out;
}

export function scaleInPlace(values: Float64Array, scaling: Scaling | null): void {
  if (!scaling) return;
  const { mean, scale } = scaling;
  for (let i = 0; i < values.length; i++) values[i] = ((values[i] as number) - mean) / scale;
}

/** One calendar part of epoch milliseconds, in UTC; dayOfWeek is 0 = Monday … 6 = Sunday (as pandas). */
export function datetimePart(ms: Float64Array, part: DatetimePart, fill: number): Float64Array {
  const out = new Float64Array(ms.length);
  const d = new Date(0);
  for (let i = 0; i < ms.length; i++) {
    const t = ms[i] as number;
    if (t !== t) {
      out[i] = fill;
      continue;
    }
    d.setTime(t);
    out[i] =
      part === "year"
        ? d.getUTCFullYear()
        : part === "month"
          ? d.getUTCMonth() + 1
          : part === "hour"
            ? d.getUTCHours()
            : (d.getUTCDay() + 6) % 7;
  }
  return out;
}
