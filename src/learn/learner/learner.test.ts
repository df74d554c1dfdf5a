import { describe, expect, it } from "vitest";
import { frameFromColumns, takeRows, type Frame } from "../frame.ts";
import { accuracy, r2 } from "../metrics.ts";
import { createRng } from "../random.ts";
import { labelsFor, LEARNER_KINDS, learner, loadTabularModel } from "./index.ts";

function data(n: number): Frame {
  const rng = createRng(11);
  const x = Float64Array.from({ length: n }, () => (rng.next() < 0.05 ? NaN : rng.next() * 4 - 2));
  const city = Array.from({ length: n }, () => (rng.next() < 0.05 ? null : `c${rng.int(30)}`));
  const shade = Array.from({ length: n }, () => ["red", "green", "blue"][rng.int(3)] as string);
  const when = Float64Array.from({ length: n }, () => Date.UTC(2001, 0, 1) + rng.int(365) * 86_400_000);
  const label = Array.from({ length: n }, (_, i) => {
    const xi = Number.isNaN(x[i]) ? 0 : (x[i] as number);
    const c = Number((city[i] ?? "c0").slice(1));
    return xi + (shade[i] === "red" ? 1 : 0) + (c % 2 === 0 ? 0.8 : -0.8) + (rng.next() - 0.5) > 0
      ? "yes"
      : "no";
  });
  const amount = Float64Array.from(
    x,
    (v, i) => (Number.isNaN(v) ? 0 : 2 * v) + (shade[i] === "blue" ? 3 : 0) + rng.next() * 0.2,
  );
  return frameFromColumns({ x, city, shade, when, label, amount });
}

const range = (a: number, b: number): Uint32Array => Uint32Array.from({ length: b - a }, (_, i) => a + i);

describe("common learner interface", () => {
  const all = data(600);
  const train = takeRows(all, range(0, 450));
  const test = takeRows(all, range(450, 600));
  const small = {
    gbdt: { nRounds: 20, learningRate: 0.2 },
    rf: { nTrees: 15 },
    "extra-trees": { nTrees: 15 },
    linear: {},
  };

  it.each(LEARNER_KINDS.map((k) => [k]))(
    "%s classifies string labels from mixed columns, round-trips and is deterministic",
    async (kind) => {
      const options = {
        features: ["x", "city", "shade", "when"],
        datetime: ["when"],
        seed: 3,
        params: small[kind],
      };
      const model = await learner(kind, options).fit(train, "label");
      expect(model.task).toBe("binary");
      expect([...model.classes].sort()).toEqual(["no", "yes"]);
      const y = labelsFor(test, "label", model.task, model.classes);
      expect(accuracy(y, model.predict(test))).toBeGreaterThan(0.7);
      const again = loadTabularModel(JSON.parse(JSON.stringify(model)));
      expect(again.predictProba(test)).toEqual(model.predictProba(test));
      const twin = await learner(kind, options).fit(train, "label");
      expect(JSON.stringify(twin)).toBe(JSON.stringify(model));
    },
  );

  it("does regression with every learner", async () => {
    for (const kind of LEARNER_KINDS) {
      const model = await learner(kind, { features: ["x", "shade"], params: small[kind] }).fit(
        train,
        "amount",
      );
      expect(model.task).toBe("regression");
      expect(r2(labelsFor(test, "amount", "regression", []), model.predict(test))).toBeGreaterThan(0.8);
    }
  });

  it("rejects unseen evaluation labels, constant targets and missing columns at predict time", async () => {
    expect(() => labelsFor(frameFromColumns({ label: ["maybe"] }), "label", "binary", ["no", "yes"])).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error,
    );
    await expect(
      learner("linear").fit(frameFromColumns({ a: [1, 2, 3], t: ["x", "x", "x"] }), "t"),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const model = await learner("linear", { features: ["x"] }).fit(train, "label");
    expect(() => model.predict(frameFromColumns({ y: [1] }))).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error,
    );
  });
});
