// Open Inference Protocol V2 (KServe, Triton): health, server and model metadata, readiness, and tensor inference.
import type { FastifyInstance, FastifyRequest } from "fastify";
import packageJson from "../../../package.json" with { type: "json" };
import { LoopmlError } from "../../errors.ts";
import { decodeColumns, decodeRows, type DecodeLimits } from "../decode.ts";
import { decodeFastTensor, NUMERIC_DATATYPES } from "../fast-json.ts";
import { bodyValue, JsonBody, routeWithBody } from "../json-body.ts";
import type { ServedModel } from "../models.ts";
import type { ServingContext } from "../server.ts";
import type { Batch, ModelSignature } from "../types.ts";

interface ModelParams {
  name: string;
  version?: string;
}

interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: unknown;
}

export function registerOpenInferenceRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get("/v2", () => ({ name: "loopml", version: packageJson.version, extensions: [] }));
  app.get("/v2/health/live", () => ({ live: true }));
  app.get("/v2/health/ready", (_request, reply) => {
    const ready = ctx.models.list().length > 0;
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  const metadata = (request: FastifyRequest<{ Params: ModelParams }>) => {
    const m = ctx.models.resolve(request.params.name, request.params.version);
    return modelMetadata(m);
  };
  app.get("/v2/models/:name", metadata);
  app.get("/v2/models/:name/versions/:version", metadata);

  const ready = (request: FastifyRequest<{ Params: ModelParams }>) => {
    const m = ctx.models.resolve(request.params.name, request.params.version);
    return { name: m.name, ready: true };
  };
  app.get("/v2/models/:name/ready", ready);
  app.get("/v2/models/:name/versions/:version/ready", ready);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const { name, version } = request.params;
    const model = routeWithBody(request.body, () => ctx.route(request, name, version));
    const signature = model.runtime.signature;
    const raw = request.body;
    const fast = raw instanceof JsonBody ? decodeFastTensor(raw.raw, signature, ctx.limits) : null;
    const body = (fast ? {} : (bodyValue(raw) ?? {})) as Record<string, unknown>;
    const batch = fast ? fast.batch : decodeTensors(signature, body.inputs, ctx.limits);
    const id = fast ? fast.id : typeof body.id === "string" ? body.id : undefined;
    const result = await ctx.predict(model, batch, "v2", id);
    const n = batch.nRows;
    const outputs = [
      { name: "predictions", shape: [n], datatype: "FP64", data: Array.from(result.predictions) },
    ];
    if (result.probabilities) {
      const k = signature.nClasses;
      outputs.push({
        name: "probabilities",
        shape: [n, k],
        datatype: "FP64",
        data: Array.from(result.probabilities),
      });
    }
    const wanted = requestedOutputs(body.outputs);
    const response: Record<string, unknown> = {
      model_name: model.name,
      model_version: model.version,
      outputs: wanted ? outputs.filter((o) => wanted.has(o.name)) : outputs,
    };
    if (id !== undefined) response.id = id;
    return response;
  };
  app.post("/v2/models/:name/infer", infer);
  app.post("/v2/models/:name/versions/:version/infer", infer);
}

function modelMetadata(m: ServedModel): Record<string, unknown> {
  const sig = m.runtime.signature;
  const outputs: { name: string; datatype: string; shape: number[] }[] = [
    { name: "predictions", datatype: "FP64", shape: [-1] },
  ];
  if (sig.task !== "regression")
    outputs.push({ name: "probabilities", datatype: "FP64", shape: [-1, sig.nClasses] });
  return {
    name: m.name,
    versions: [m.version],
    platform: `loopml_${m.runtime.kind.replace("-", "_")}`,
    inputs: sig.inputs.map((c) => ({
      name: c.name,
      datatype: c.type === "double" ? "FP64" : "BYTES",
      shape: [-1],
    })),
    outputs,
  };
}

function requestedOutputs(outputs: unknown): Set<string> | null {
  if (!Array.isArray(outputs)) return null;
  const names = new Set(outputs.map((o) => String((o as { name?: unknown })?.name)));
  for (const n of names) {
    if (n !== "predictions" && n !== "probabilities") {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Unknown output "${n}"; this model has outputs predictions, probabilities.`,
      );
    }
  }
  return names;
}

/**
 * Two request shapes: one tensor per column (shape [n] or [n, 1], named after the column), or one
 * tensor of shape [n, nInputs] holding rows in signature order.
 */
export function decodeTensors(signature: ModelSignature, inputs: unknown, limits: DecodeLimits): Batch {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      '"inputs" must be a non-empty list of tensors {name, shape, datatype, data}.',
    );
  }
  const tensors = inputs.map(checkTensor);
  const width = signature.inputs.length;
  const only = tensors[0] as Tensor;
  if (
    tensors.length === 1 &&
    only.shape.length === 2 &&
    (only.shape[1] as number) === width &&
    !(width === 1 && isColumn(signature, only.name))
  ) {
    const n = only.shape[0] as number;
    const flat = flatten(only);
    checkType(only, signature.inputs.every((c) => c.type === "double") ? "double" : "mixed");
    const rows: unknown[][] = new Array<unknown[]>(n);
    for (let r = 0; r < n; r++) rows[r] = flat.slice(r * width, r * width + width);
    return decodeRows(signature, rows, limits);
  }
  const columns: Record<string, unknown[]> = {};
  for (const t of tensors) {
    const spec = signature.inputs.find((c) => c.name === t.name);
    if (!spec) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Tensor "${t.name}" matches no model input; send one tensor per input (${signature.inputs.map((c) => c.name).join(", ")}) or one [n, ${width}] tensor.`,
        { column: t.name },
      );
    }
    if (t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Tensor "${t.name}" has shape [${t.shape.join(", ")}]; a column tensor has shape [n] or [n, 1].`,
        {
          column: t.name,
        },
      );
    }
    checkType(t, spec.type);
    columns[t.name] = flatten(t);
  }
  return decodeColumns(signature, columns, limits);
}

function isColumn(signature: ModelSignature, name: string): boolean {
  return signature.inputs.some((c) => c.name === name);
}

function checkTensor(raw: unknown, i: number): Tensor {
  const t = (raw ?? {}) as Partial<Tensor>;
  if (
    typeof t.name !== "string" ||
    !Array.isArray(t.shape) ||
    typeof t.datatype !== "string" ||
    t.data === undefined
  ) {
    throw new LoopmlError("INVALID_ARGUMENT", `Input tensor ${i} needs name, shape, datatype and data.`);
  }
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Tensor "${t.name}" has an invalid shape [${t.shape.join(", ")}].`,
      { column: t.name },
    );
  }
  return t as Tensor;
}

function checkType(t: Tensor, type: "double" | "string" | "mixed"): void {
  if (type === "mixed") return;
  const ok = type === "double" ? NUMERIC_DATATYPES.has(t.datatype) : t.datatype === "BYTES";
  if (!ok) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Tensor "${t.name}" has datatype ${t.datatype} but the input is ${type === "double" ? "numeric (send FP32, FP64 or an integer type)" : "a string (send BYTES)"}.`,
      { column: t.name },
    );
  }
}

/** Tensor data may be flat or nested (row-major); either way its element count must match the shape. */
function flatten(t: Tensor): unknown[] {
  const data = Array.isArray(t.data) ? (t.data as unknown[]).flat(Infinity) : [t.data];
  const expected = t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Tensor "${t.name}" has ${data.length} values but its shape [${t.shape.join(", ")}] needs ${expected}.`,
      { column: t.name },
    );
  }
  return data;
}
