// MLflow's scoring protocol: POST /invocations with dataframe_split, dataframe_records, instances, inputs or CSV.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { LoopmlError } from "../../errors.ts";
import { createCsvParser, typeCsvRecords } from "../csv.ts";
import { decodeColumns, decodeRows, decodeSplit } from "../decode.ts";
import { decodeFast, type FastShapes } from "../fast-json.ts";
import { bodyValue, JsonBody, routeWithBody } from "../json-body.ts";
import type { ServingContext } from "../server.ts";
import type { Batch, ModelSignature, PredictResult } from "../types.ts";
import { probabilityRows } from "./loopml.ts";

const KEYS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;

/** The JSON shapes fast-json.ts reads; dataframe_records (objects per row) takes the generic path. */
const SHAPES: FastShapes = { keys: ["dataframe_split", "instances", "inputs"], flags: false };

export function registerMlflowRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get("/ping", () => "\n");
  app.get("/health", () => "\n");
  app.post("/invocations", async (request: FastifyRequest) => {
    const model = routeWithBody(request.body, () => ctx.routeSingle(request));
    const signature = model.runtime.signature;
    const body = request.body;
    const fast = body instanceof JsonBody ? decodeFast(body.raw, signature, ctx.limits, SHAPES) : null;
    const batch =
      fast?.batch ??
      (typeof body === "string"
        ? decodeCsv(signature, body, ctx)
        : decodeJson(signature, bodyValue(body), ctx));
    const result = await ctx.predict(model, batch, "mlflow");
    return { predictions: scores(signature, result) };
  });
}

/**
 * What MLflow's pyfunc flavour of an XGBoost booster returns: the value for regression, P(class 1) for
 * binary, the probability row for multiclass.
 */
function scores(signature: ModelSignature, result: PredictResult): number[] | number[][] {
  if (signature.task === "regression") return Array.from(result.predictions);
  const rows = probabilityRows(signature, result);
  return signature.task === "binary" ? rows.map((r) => r[1] as number) : rows;
}

function decodeJson(signature: ModelSignature, body: unknown, ctx: ServingContext): Batch {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The body must be a JSON object with one of ${KEYS.join(", ")}.`,
    );
  }
  const record = body as Record<string, unknown>;
  const present = KEYS.filter((k) => record[k] !== undefined);
  if (present.length !== 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      present.length === 0
        ? `The body has none of ${KEYS.join(", ")}; send exactly one (e.g. {"dataframe_split": {"columns": [...], "data": [[...]]}}).`
        : `The body has ${present.join(" and ")}; send exactly one of them.`,
    );
  }
  const key = present[0];
  const value = record[key as string];
  if (key === "dataframe_split") {
    const split = (value ?? {}) as Record<string, unknown>;
    return decodeSplit(signature, split.columns, split.data, ctx.limits);
  }
  if (key === "inputs" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    return decodeColumns(signature, value, ctx.limits);
  }
  return decodeRows(signature, value, ctx.limits);
}

function decodeCsv(signature: ModelSignature, text: string, ctx: ServingContext): Batch {
  const parser = createCsvParser();
  const records = [...parser.push(text), ...parser.end()];
  const header = records.shift();
  if (!header)
    throw new LoopmlError("INVALID_ARGUMENT", "The CSV body is empty; send a header line and rows.");
  return decodeSplit(signature, header, typeCsvRecords(signature, header, records), ctx.limits);
}
