// The retrain loop scores every loopml model format on a holdout: AutoML's non-boosting winners included.
import { expect, it } from "vitest";
import { frameFromColumns } from "../learn/frame.ts";
import { learner } from "../learn/learner/index.ts";
import { loadScorer, metricOn } from "./scorer.ts";

it('scores a learner model ("loopml-model") by the probability of label 1', async () => {
  const x = Float64Array.from({ length: 600 }, (_, i) => ((i * 7919) % 1000) / 1000);
  const frame = frameFromColumns({ x, y: x.map((v) => (v > 0.5 ? 1 : 0)) });
  const model = await learner("rf", { task: "auto", seed: 1 }).fit(frame, "y");
  const scorer = loadScorer(JSON.parse(JSON.stringify(model.toJSON())));
  expect(scorer.task).toBe("binary");
  const p = scorer.score(frame);
  expect(p).toHaveLength(600);
  expect(metricOn(scorer, frame, "y", "roc_auc")).toBeGreaterThan(0.95);
  // Flipped labels score the other way round: the positive class is "1", not the second column by chance.
  const flipped = frameFromColumns({ x, y: x.map((v) => (v > 0.5 ? 0 : 1)) });
  expect(metricOn(scorer, flipped, "y", "roc_auc")).toBeLessThan(0.05);
});
