// /metrics after real traffic (canary, shadow, logging, errors, a rollback) passes a strict exposition-format check; the checker itself catches what promtool rejects.
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { checkExposition } from "./exposition-check.ts";
import { registerServingRoutes } from "./server.ts";
import type { Batch, ModelRuntime } from "./types.ts";

function constant(value: number, fail = false): ModelRuntime {
  return {
    kind: "test",
    signature: { inputs: [{ name: "a", type: "double", nullable: false }], task: "regression", nClasses: 1 },
    predict(batch: Batch) {
      if (fail) throw new Error("broken");
      return { predictions: new Float64Array(batch.nRows).fill(value) };
    },
  };
}

describe("exposition format", () => {
  it("the server's /metrics is valid after mixed traffic", async () => {
    const app = Fastify();
    const handle = await registerServingRoutes(app, {
      models: [
        {
          name: "churn",
          version: "1",
          runtime: constant(1),
          canary: { version: "2", runtime: constant(2, true), weight: 0.5 },
          shadow: { version: "3", runtime: constant(3) },
          rollback: { maxErrorRateDelta: 0.1, maxP99Ratio: 2 },
        },
        { name: "fraud", version: "7", runtime: constant(0) },
      ],
      inferenceLog: { write: () => Promise.resolve() },
    });
    for (let i = 0; i < 80; i++) {
      await app.inject({ method: "POST", url: "/v1/models/churn/predict", payload: { instances: [[i]] } });
    }
    await app.inject({ method: "POST", url: "/v1/models/fraud/predict", payload: { instances: [["x"]] } });
    await app.inject({ method: "POST", url: "/v1/models/nope/predict", payload: { instances: [[1]] } });
    await app.inject({
      method: "POST",
      url: "/v2/models/fraud/infer",
      payload: { inputs: [{ name: "a", shape: [1, 1], datatype: "FP64", data: [1] }] },
    });
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(checkExposition(res.body)).toEqual([]);
    expect(res.body).toMatch(/loopml_serving_canary_rollbacks_total\{model="churn",reason="error-rate"\} 1/);
    expect(res.body).toMatch(/loopml_serving_errors_total\{model="fraud",code="INVALID_ARGUMENT"\} 1/);
    await handle.close();
    await app.close();
  });

  it("catches what promtool rejects", () => {
    const ok = '# HELP x_total Things.\n# TYPE x_total counter\nx_total{a="1"} 3\n';
    expect(checkExposition(ok)).toEqual([]);
    expect(checkExposition(ok.trimEnd())).toContain("the text does not end with a newline");
    expect(checkExposition("# HELP x Things.\n# TYPE x counter\nx 1\n")[0]).toMatch(/should end in _total/);
    expect(checkExposition(`${ok}x_total{a="1"} 4\n`)[0]).toMatch(/duplicate series/);
    expect(checkExposition("# TYPE y gauge\ny{a=1} 2\n")[0]).toMatch(/malformed labels/);
    expect(checkExposition("y 2\n")[0]).toMatch(/without a TYPE line/);
    expect(checkExposition('# TYPE y gauge\ny 1\n# TYPE z gauge\nz 1\ny{b="2"} 1\n')[0]).toMatch(
      /more than one group/,
    );
    const histogram = [
      "# HELP h Latency.",
      "# TYPE h histogram",
      'h_bucket{le="0.1"} 5',
      'h_bucket{le="1"} 4',
      "h_sum 3",
      "h_count 6",
      "",
    ].join("\n");
    expect(checkExposition(histogram)).toEqual([
      'histogram "h" []: bucket counts decrease',
      'histogram "h" []: no +Inf bucket',
    ]);
  });
});
