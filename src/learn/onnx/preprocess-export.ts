// ONNX export of a whole loopml model: the fitted preprocessing as ONNX nodes in front of the learner, so the
// graph takes the raw columns. Everything runs in double precision with standard operators (Where/IsNaN for
// imputation, Sub/Div for standardisation, calendar arithmetic for datetimes) and ai.onnx.ml LabelEncoder for
// categories, so the graph reproduces the native transform exactly rather than through float32 ml ops.
import { LoopmlError } from "../../errors.ts";
import { GbdtModel } from "../gbdt/model.ts";
import type { TabularModel } from "../learner/model.ts";
import { LinearModel } from "../linear/model.ts";
import type { ColumnPlan, DatetimePart, Scaling } from "../preprocess/types.ts";
import { assemble, gbdtGraph, type ModelGraph, type OnnxExportOptions } from "./export.ts";
import { ML } from "./ensemble.ts";
import { forestGraph } from "./forest-export.ts";
import { linearGraph } from "./linear-export.ts";
import {
  DataType,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from "./model-proto.ts";

const MS_PER_DAY = 86_400_000;
const MS_PER_HOUR = 3_600_000;

/**
 * ONNX bytes of a trained model with its preprocessing. Inputs: one [N, 1] tensor per raw input column —
 * double for numeric and datetime (epoch ms) columns, NaN = missing; string for categorical columns, where
 * "" and categories unseen in training are missing. Outputs as the learners' exports: "variable" for
 * regression, "label" (class index into model.classes, also stored as metadata) and "probabilities".
 *
 * @example
 * await writeFile("model.onnx", tabularToOnnx(await learner("gbdt", { task: "auto" }).fit(train, "y")));
 */
export function tabularToOnnx(model: TabularModel, options: OnnxExportOptions = {}): Uint8Array {
  const g = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [];
  const columns: string[] = [];
  for (const plan of model.preprocessor.plans) {
    const categorical = plan.kind !== "numeric" && plan.kind !== "datetime";
    inputs.push({
      name: plan.name,
      elemType: categorical ? DataType.STRING : DataType.DOUBLE,
      shape: ["N", 1],
    });
    columns.push(...(categorical ? categoricalColumns(g, plan) : numericColumns(g, plan)));
  }
  if (columns.length === 0) throw new LoopmlError("INVALID_ARGUMENT", "The model has no features to export.");
  g.nodes.push({
    opType: "Concat",
    inputs: columns,
    outputs: ["features"],
    attributes: [{ name: "axis", i: 1 }],
  });
  return assemble(inputs, g.nodes, innerGraph(model.inner), options, {
    initializers: g.initializers,
    metadata: {
      "loopml.learner": model.learner,
      "loopml.task": model.task,
      "loopml.target": model.target,
      "loopml.classes": JSON.stringify(model.classes),
    },
  });
}

function innerGraph(inner: TabularModel["inner"]): ModelGraph {
  if (inner instanceof GbdtModel) return gbdtGraph(inner);
  if (inner instanceof LinearModel) return linearGraph(inner);
  return forestGraph(inner);
}

/** Appends nodes with generated output names and constants as initializers. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;

  op(opType: string, inputs: readonly string[], attributes?: OnnxAttribute[], domain?: string): string {
    const out = `pre_${this.count++}`;
    this.nodes.push({
      opType,
      inputs,
      outputs: [out],
      ...(attributes && { attributes }),
      ...(domain && { domain }),
    });
    return out;
  }

  double(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = `const_${this.count++}`;
    this.initializers.push({ name, dataType: DataType.DOUBLE, dims, doubles: values });
    return name;
  }

  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = `const_${this.count++}`;
    this.initializers.push({ name, dataType: DataType.INT64, dims, int64s: values });
    return name;
  }

  /** x with NaN replaced by fill (kept when fill is null). */
  fillNaN(x: string, fill: number | null): string {
    return fill === null ? x : this.op("Where", [this.op("IsNaN", [x]), this.double([fill]), x]);
  }

  /** (x - mean) / scale, the same double operations as the native transform. */
  scale(x: string, scaling: Scaling | null): string {
    if (!scaling) return x;
    return this.op("Div", [this.op("Sub", [x, this.double([scaling.mean])]), this.double([scaling.scale])]);
  }

  floorDiv(x: string, divisor: number): string {
    return this.op("Floor", [this.op("Div", [x, this.double([divisor])])]);
  }

  toDouble(x: string): string {
    return this.op("Cast", [x], [{ name: "to", i: DataType.DOUBLE }]);
  }
}

function numericColumns(
  g: GraphBuilder,
  plan: Extract<ColumnPlan, { kind: "numeric" | "datetime" }>,
): string[] {
  const x = plan.name;
  const out: string[] = [];
  if (plan.kind === "numeric") out.push(g.scale(g.fillNaN(x, plan.fill), plan.scaling));
  else {
    for (const p of plan.parts) {
      // A missing timestamp gives NaN parts, then the part's fill.
      out.push(g.scale(g.fillNaN(datetimePart(g, x, p.part), p.fill), p.scaling));
    }
  }
  if (plan.indicator) out.push(g.toDouble(g.op("IsNaN", [x])));
  return out;
}

/**
 * One calendar part (UTC) of epoch milliseconds, as the native transform's Date getters: days since the
 * epoch by floor division, then Howard Hinnant's civil-from-days arithmetic for year and month. Exact for
 * integral milliseconds (all values are integers far below 2^53).
 */
function datetimePart(g: GraphBuilder, ms: string, part: DatetimePart): string {
  const days = g.floorDiv(ms, MS_PER_DAY);
  const mul = (x: string, k: number): string => g.op("Mul", [x, g.double([k])]);
  const sub = (a: string, b: string): string => g.op("Sub", [a, b]);
  const add = (a: string, b: string): string => g.op("Add", [a, b]);
  if (part === "hour") return g.floorDiv(sub(ms, mul(days, MS_PER_DAY)), MS_PER_HOUR);
  if (part === "dayOfWeek") {
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    const d = add(days, g.double([3]));
    return sub(d, mul(g.floorDiv(d, 7), 7));
  }
  const z = add(days, g.double([719_468]));
  const era = g.floorDiv(z, 146_097);
  const doe = sub(z, mul(era, 146_097));
  const yoe = g.floorDiv(
    sub(add(sub(doe, g.floorDiv(doe, 1460)), g.floorDiv(doe, 36_524)), g.floorDiv(doe, 146_096)),
    365,
  );
  const doy = sub(doe, add(mul(yoe, 365), sub(g.floorDiv(yoe, 4), g.floorDiv(yoe, 100))));
  const mp = g.floorDiv(add(mul(doy, 5), g.double([2])), 153);
  const beforeMarch = g.op("Less", [mp, g.double([10])]);
  const month = g.op("Where", [beforeMarch, add(mp, g.double([3])), sub(mp, g.double([9]))]);
  if (part === "month") return month;
  const year = add(yoe, mul(era, 400));
  // January and February belong to the next civil year in this March-based calendar.
  return add(year, g.toDouble(g.op("LessOrEqual", [month, g.double([2])])));
}

function categoricalColumns(
  g: GraphBuilder,
  plan: Extract<ColumnPlan, { kind: "onehot" | "ordinal" | "target" | "native" }>,
): string[] {
  const C = plan.categories.length;
  // Training category index, -1 for missing ("") or unseen strings.
  const raw = g.op(
    "LabelEncoder",
    [plan.name],
    [
      { name: "keys_strings", strings: C > 0 ? [...plan.categories] : [""] },
      { name: "values_int64s", ints: C > 0 ? plan.categories.map((_, c) => c) : [-1] },
      { name: "default_int64", i: -1 },
    ],
    ML,
  );
  const missing = g.op("Less", [raw, g.int64([0], [])]);
  const code = plan.fill >= 0 ? g.op("Where", [missing, g.int64([plan.fill], []), raw]) : raw;
  const codeMissing = plan.fill >= 0 ? g.op("Less", [code, g.int64([0], [])]) : missing;
  const out: string[] = [];
  if (plan.kind === "onehot") {
    // Equal against [0, 1, ..., C-1] broadcasts to [N, C]; a missing code matches nothing (all zeros).
    if (C > 0)
      out.push(
        g.toDouble(
          g.op("Equal", [
            code,
            g.int64(
              plan.categories.map((_, c) => c),
              [1, C],
            ),
          ]),
        ),
      );
  } else if (plan.kind === "ordinal" || plan.kind === "native") {
    const value = g.op("Where", [codeMissing, g.double([NaN]), g.toDouble(code)]);
    out.push(plan.kind === "ordinal" ? g.scale(value, plan.scaling?.[0] ?? null) : value);
  } else {
    // Target encoding: a [C + 1, k] table whose last row is the prior, gathered by code (missing -> C).
    const prior = plan.prior ?? [0];
    const k = prior.length;
    const table = g.double([...(plan.encodings ?? []), ...prior], [C + 1, k]);
    const index = g.op("Where", [codeMissing, g.int64([C], []), code]);
    const gathered = g.op("Reshape", [g.op("Gather", [table, index]), g.int64([-1, k])]);
    const scaling = plan.scaling ?? [];
    const mean = Array.from({ length: k }, (_, o) => scaling[o]?.mean ?? 0);
    const scale = Array.from({ length: k }, (_, o) => scaling[o]?.scale ?? 1);
    out.push(g.op("Div", [g.op("Sub", [gathered, g.double(mean)]), g.double(scale)]));
  }
  if (plan.indicator) out.push(g.toDouble(missing));
  return out;
}
