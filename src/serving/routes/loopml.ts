// loopml's own prediction protocol: POST /v1/models/{name}[@alias][/versions/{v}]/predict with rows or columns.
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { LoopmlError } from "../../errors.ts";
import { decodeColumns, decodeRows } from "../decode.ts";
import { decodeFast, type FastShapes } from "../fast-json.ts";
import { bodyValue, JsonBody, routeWithBody } from "../json-body.ts";
import type { ServingContext } from "../server.ts";
import type { Batch, ModelRuntime, ModelSignature, PredictResult } from "../types.ts";

const PREDICT_RESPONSE = {
  type: "object",
  properties: {
    predictions: { type: "array", items: { type: "number" } },
    model_version: { type: "string" },
    request_id: { type: "string" },
    probabilities: { type: "array", items: { type: "array", items: { type: "number" } } },
    explanations: { type: "object", additionalProperties: true },
  },
} as const;

/** What the generic decodeBody reads: rows under "instances" or "inputs", columns under "inputs". */
const SHAPES: FastShapes = { keys: ["instances", "inputs"], flags: true };

interface PredictParams {
  name: string;
  version?: string;
}

export function registerLoopmlRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const handler = async (request: FastifyRequest<{ Params: PredictParams }>) => {
    const { name, version } = request.params;
    const model = routeWithBody(request.body, () => ctx.route(request, name, version));
    const signature = model.runtime.signature;
    const fast =
      request.body instanceof JsonBody ? decodeFast(request.body.raw, signature, ctx.limits, SHAPES) : null;
    let batch: Batch;
    let probabilities: boolean;
    let explanations: boolean;
    if (fast) {
      ({ batch, probabilities, explain: explanations } = fast);
    } else {
      const body = bodyValue(request.body) as Record<string, unknown> | null;
      batch = decodeBody(signature, body, ctx);
      probabilities = body?.probabilities === true;
      explanations = body?.explain === true;
    }
    const header = request.headers["x-request-id"];
    const requestId = typeof header === "string" && header !== "" ? header : randomUUID();
    const result = await ctx.predict(model, batch, "loopml", requestId);
    const response: Record<string, unknown> = {
      predictions: Array.from(result.predictions),
      model_version: model.version,
      request_id: requestId,
    };
    if (probabilities) response.probabilities = probabilityRows(signature, result);
    if (explanations) response.explanations = explain(model.runtime, batch);
    return response;
  };
  // A compiled serializer for the answer: cheaper than JSON.stringify on the hot path.
  const options = { schema: { response: { 200: PREDICT_RESPONSE } } };
  app.post("/v1/models/:name/predict", options, handler);
  app.post("/v1/models/:name/versions/:version/predict", options, handler);

  app.get("/v1/models", () => ({
    models: ctx.models
      .list()
      .map((m) => ({ name: m.name, version: m.version, aliases: m.aliases, runtime: m.runtime.kind })),
  }));
  app.get("/v1/models/:name", (request: FastifyRequest<{ Params: PredictParams }>) => {
    const m = ctx.models.resolve(request.params.name);
    return {
      name: m.name,
      version: m.version,
      aliases: m.aliases,
      runtime: m.runtime.kind,
      signature: m.runtime.signature,
    };
  });
}

function decodeBody(
  signature: ModelSignature,
  body: Record<string, unknown> | null,
  ctx: ServingContext,
): Batch {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      'The body must be a JSON object with "instances" (rows) or "inputs" (columns).',
    );
  }
  if (body.instances !== undefined) return decodeRows(signature, body.instances, ctx.limits);
  if (Array.isArray(body.inputs)) return decodeRows(signature, body.inputs, ctx.limits);
  if (body.inputs !== undefined) return decodeColumns(signature, body.inputs, ctx.limits);
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    'The body has neither "instances" (a list of rows) nor "inputs" (an object of columns); send one of them.',
  );
}

/** Probabilities as one array per row, or an error for models that have none. */
export function probabilityRows(signature: ModelSignature, result: PredictResult): number[][] {
  const p = result.probabilities;
  if (!p) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `This model is a ${signature.task} model and has no class probabilities; drop "probabilities".`,
    );
  }
  const k = signature.nClasses;
  const rows = p.length / k;
  const out: number[][] = new Array<number[]>(rows);
  for (let r = 0; r < rows; r++) out[r] = Array.from(p.subarray(r * k, r * k + k));
  return out;
}

/**
 * TreeSHAP contributions per row (raw margin scale: they plus `expected_value` sum to the margin).
 * Cost: about trees × leaves × depth² operations per row, tens of microseconds to milliseconds per row,
 * paid only by requests that ask.
 */
function explain(runtime: ModelRuntime, batch: Batch): Record<string, unknown> {
  if (!runtime.explain) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The ${runtime.kind} runtime cannot explain predictions (only loopml tree models can); drop "explain".`,
    );
  }
  const e = runtime.explain(batch);
  const nf = e.featureNames.length;
  const k = e.outputs;
  const rows: (number[] | number[][])[] = [];
  for (let r = 0; r < batch.nRows; r++) {
    const base = r * nf * k;
    if (k === 1) rows.push(Array.from(e.contributions.subarray(base, base + nf)));
    else {
      const perFeature: number[][] = [];
      for (let f = 0; f < nf; f++)
        perFeature.push(Array.from(e.contributions.subarray(base + f * k, base + f * k + k)));
      rows.push(perFeature);
    }
  }
  return {
    feature_names: e.featureNames,
    expected_value: k === 1 ? e.expectedValue[0] : Array.from(e.expectedValue),
    contributions: rows,
    scale: "raw margin",
  };
}
