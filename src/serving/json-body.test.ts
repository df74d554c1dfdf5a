// JSON bodies over HTTP with the fast decoder in front: same answers as the generic path, and the parser's errors (bad JSON first, 413 over the byte limit) unchanged.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { loadRuntime } from "./runtimes/load.ts";
import { registerServingRoutes } from "./server.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const expected = JSON.parse(readFileSync(join(FIXTURES, "xgb-binary", "expected.json"), "utf8")) as {
  inputs: (number | null)[][];
};
const ROWS = expected.inputs.slice(0, 5);
const NAMES = ["f_0", "f_1", "f_2", "f_3", "f_4"];

let app: FastifyInstance;
afterEach(async () => app.close());

async function start(bodyLimit?: number): Promise<void> {
  app = Fastify(bodyLimit ? { bodyLimit } : {});
  const runtime = loadRuntime(JSON.parse(readFileSync(join(FIXTURES, "xgb-binary", "m.json"), "utf8")));
  await registerServingRoutes(app, { models: [{ name: "churn", version: "3", runtime }] });
}

async function post(url: string, payload: string) {
  const res = await app.inject({
    method: "POST",
    url,
    payload,
    headers: { "content-type": "application/json" },
  });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

describe("JSON bodies", () => {
  it("answers the fast shapes exactly as the shapes that take JSON.parse", async () => {
    await start();
    const columns = Object.fromEntries(NAMES.map((n, i) => [n, ROWS.map((r) => r[i])]));
    const pairs: [string, string, string][] = [
      // [url, fast shape, equivalent generic shape (object rows or an extra key)]
      [
        "/v1/models/churn/predict",
        JSON.stringify({ instances: ROWS, probabilities: true }),
        JSON.stringify({
          instances: ROWS.map((r) => Object.fromEntries(NAMES.map((n, i) => [n, r[i]]))),
          probabilities: true,
        }),
      ],
      [
        "/v1/models/churn/predict",
        JSON.stringify({ inputs: columns }, null, 2),
        JSON.stringify({ inputs: ROWS.map((r) => Object.fromEntries(NAMES.map((n, i) => [n, r[i]]))) }),
      ],
      [
        "/invocations",
        JSON.stringify({ dataframe_split: { columns: NAMES, data: ROWS } }),
        JSON.stringify({ dataframe_split: { columns: NAMES, index: [0, 1, 2, 3, 4], data: ROWS } }),
      ],
    ];
    for (const [url, fast, generic] of pairs) {
      const a = await post(url, fast);
      const b = await post(url, generic);
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.predictions).toEqual(b.body.predictions);
      expect(a.body.probabilities).toEqual(b.body.probabilities);
    }
  });

  it("still answers malformed JSON with 400 before looking up the model, and 413 over the byte limit", async () => {
    await start(4096);
    for (const url of ["/v1/models/nope/predict", "/v2/models/nope/infer", "/invocations"]) {
      const res = await post(url, '{"instances": [[1, 2');
      expect(res.status, url).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/not valid JSON/);
    }
    const unknown = await post("/v1/models/nope/predict", JSON.stringify({ instances: ROWS }));
    expect(unknown.status).toBe(404);
    const big = JSON.stringify({ instances: Array.from({ length: 200 }, () => ROWS[0]) });
    const res = await post("/v1/models/churn/predict", big);
    expect(res.status).toBe(413);
    expect((res.body.error as { code: string }).code).toBe("RESOURCE_EXHAUSTED");
  });
});
