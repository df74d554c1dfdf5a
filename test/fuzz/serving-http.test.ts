// Fuzzing the three prediction protocols over HTTP (app.inject): arbitrary bodies get a 2xx or a 4xx with a named problem, never a 5xx or a stack.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntime } from "../../src/serving/runtimes/load.ts";
import { registerServingRoutes } from "../../src/serving/server.ts";

const SEED = 20261127;
const FIXTURES = join(import.meta.dirname, "..", "..", "src", "serving", "fixtures");
const NAMES = ["f_0", "f_1", "f_2", "f_3", "f_4"];

let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify();
  await registerServingRoutes(app, {
    models: [
      {
        name: "churn",
        version: "3",
        aliases: ["production"],
        runtime: loadRuntime(JSON.parse(readFileSync(join(FIXTURES, "xgb-binary", "m.json"), "utf8"))),
      },
    ],
    limits: { maxRows: 50 },
  });
});
afterAll(async () => app.close());

const cell = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, "NaN", "x", "", true, [], {}, "1e999"),
);
const row = fc.oneof(
  fc.array(cell, { minLength: 0, maxLength: 7 }),
  fc.dictionary(fc.constantFrom(...NAMES, "zz", "__proto__"), cell),
  cell,
);
const rows = fc.oneof(fc.array(row, { maxLength: 6 }), cell, fc.jsonValue({ maxDepth: 2 }));
const columns = fc.dictionary(
  fc.constantFrom(...NAMES, "zz"),
  fc.oneof(fc.array(cell, { maxLength: 4 }), cell),
);
const tensor = fc.record(
  {
    name: fc.constantFrom("input", "x", ...NAMES),
    shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 8 }), { maxLength: 3 }), fc.jsonValue()),
    datatype: fc.constantFrom("FP64", "FP32", "INT64", "BYTES", "BOOL", "FP16", "nope"),
    data: fc.oneof(
      fc.array(cell, { maxLength: 12 }),
      fc.array(fc.array(cell, { maxLength: 5 }), { maxLength: 3 }),
    ),
    parameters: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);

/** A body for one of the protocols, sometimes well formed, often not. */
const requests = fc.oneof(
  fc.record({
    url: fc.constantFrom(
      "/v1/models/churn/predict",
      "/v1/models/churn@production/predict",
      "/v1/models/churn/versions/3/predict",
      "/v1/models/churn/versions/-1/predict",
      "/v1/models/%00/predict",
    ),
    body: fc.oneof(
      fc.record(
        {
          instances: rows,
          inputs: fc.oneof(columns, rows),
          probabilities: fc.jsonValue(),
          explain: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    ),
  }),
  fc.record({
    url: fc.constant("/invocations"),
    body: fc.oneof(
      fc.record(
        {
          dataframe_split: fc.record(
            {
              columns: fc.oneof(fc.shuffledSubarray([...NAMES, "zz"]), fc.jsonValue()),
              data: rows,
              index: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
      fc.record({ dataframe_records: rows }),
      fc.record({ instances: rows }),
      fc.record({ inputs: fc.oneof(columns, rows) }),
      fc.record({ dataframe_split: rows, instances: rows }),
      fc.jsonValue(),
    ),
  }),
  fc.record({
    url: fc.constantFrom("/v2/models/churn/infer", "/v2/models/churn/versions/3/infer"),
    body: fc.oneof(
      fc.record(
        {
          id: fc.oneof(fc.string({ maxLength: 5 }), fc.jsonValue()),
          inputs: fc.oneof(fc.array(tensor, { maxLength: 6 }), fc.jsonValue()),
          outputs: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    ),
  }),
);

function expectClientErrorShape(status: number, body: string, url: string): void {
  expect(status, `${url} → ${status}: ${body}`).toBeLessThan(500);
  expect(body).not.toMatch(/\n\s+at /); // no stack trace
  if (status >= 400) {
    const json = JSON.parse(body) as Record<string, unknown>;
    // loopml protocol: { error: { code, message } }; MLflow: { error_code, message }; KServe V2: { error }
    const named =
      typeof json["error_code"] === "string" ||
      typeof (json["error"] as Record<string, unknown> | undefined)?.["code"] === "string" ||
      typeof json["error"] === "string";
    expect(named, body).toBe(true);
  }
}

describe("prediction payloads over HTTP", () => {
  it("JSON bodies in all three protocols answer 2xx or a named 4xx", async () => {
    let ok = 0;
    await fc.assert(
      fc.asyncProperty(requests, async ({ url, body }) => {
        const res = await app.inject({
          method: "POST",
          url,
          payload: JSON.stringify(body),
          headers: { "content-type": "application/json" },
        });
        if (res.statusCode < 300) ok++;
        expectClientErrorShape(res.statusCode, res.body, url);
      }),
      { seed: SEED, numRuns: 1500 },
    );
    expect(ok).toBeGreaterThan(0);
  });

  it("raw bytes as JSON or CSV answer a named 4xx (or 2xx for a valid CSV)", async () => {
    const csvCell = fc.oneof(fc.double().map(String), fc.constantFrom("", "x", '"', '"a\nb"', "NaN", ","));
    const csv = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc
        .array(fc.array(csvCell, { minLength: 4, maxLength: 6 }), { maxLength: 4 })
        .map((r) => [NAMES.join(","), ...r.map((x) => x.join(","))].join("\n")),
    );
    await fc.assert(
      fc.asyncProperty(
        csv,
        fc.constantFrom("text/csv", "application/json", "text/csv; charset=utf-8"),
        fc.constantFrom("/invocations", "/v1/models/churn/predict", "/v2/models/churn/infer"),
        async (payload, type, url) => {
          const res = await app.inject({ method: "POST", url, payload, headers: { "content-type": type } });
          expectClientErrorShape(res.statusCode, res.body, url);
        },
      ),
      { seed: SEED, numRuns: 600 },
    );
  });
});
