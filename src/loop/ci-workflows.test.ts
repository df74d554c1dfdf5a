// The generated GitHub Actions workflows are valid against SchemaStore's workflow schema and do what they say.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { githubWorkflows } from "./ci-workflows.ts";
import { parseDesiredState } from "./desired-state.ts";
import { EXAMPLE } from "./testing/example.ts";

const schema = JSON.parse(
  readFileSync(join(import.meta.dirname, "fixtures", "github-workflow.json"), "utf8"),
) as object;
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

describe("githubWorkflows", () => {
  const files = githubWorkflows(parseDesiredState(EXAMPLE));

  it("writes ci, train and deploy workflows that the GitHub workflow schema accepts", () => {
    expect(files.map((f) => f.path)).toEqual([
      ".github/workflows/ci.yml",
      ".github/workflows/train.yml",
      ".github/workflows/deploy.yml",
    ]);
    for (const f of files) {
      const ok = validate(parse(f.content));
      expect(validate.errors ?? [], f.path).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it("trains on the retrain schedule and on dataset changes, and opens the promotion", () => {
    const train = parse(files[1]?.content ?? "") as {
      on: { schedule: { cron: string }[]; push: { paths: string[] } };
      jobs: { train: { steps: { run?: string }[] } };
    };
    expect(train.on.schedule).toEqual([{ cron: "0 3 * * 1" }]);
    expect(train.on.push.paths).toEqual(["data/flights.csv", "data/flights.csv.loopml"]);
    const runs = train.jobs.train.steps.map((s) => s.run ?? "").join("\n");
    expect(runs).toMatch(/npx loopml run train/);
    expect(runs).toMatch(/npx loopml models promote flights-delay "\$latest" --to production/);
  });

  it("deploys by applying loopml.yaml and the generated manifests", () => {
    const runs = files[2]?.content ?? "";
    expect(runs).toMatch(/npx loopml apply/);
    expect(runs).toMatch(/npx loopml deploy k8s web --out deploy\/k8s\/web/);
  });

  it("is caught by the schema when a workflow is malformed", () => {
    expect(validate({ on: "push", jobs: { x: { steps: [] } } })).toBe(false);
  });
});
