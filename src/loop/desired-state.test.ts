// loopml.yaml validation: typed sections, errors that name the line and key path, cross-references.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { desiredStateJsonSchema, parseDesiredState } from "./desired-state.ts";
import { EXAMPLE } from "./testing/example.ts";

function errorOf(text: string): Error & { code?: string } {
  try {
    parseDesiredState(text);
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("parseDesiredState", () => {
  it("reads every section, with pipelines and schedules from the pipeline parser", () => {
    const d = parseDesiredState(EXAMPLE);
    expect(d.file.deployments?.["web"]?.canary?.weight).toBe(0.1);
    expect(d.pipelines.get("train")?.steps[0]?.outs).toEqual(["model.json"]);
    expect(d.automation.schedules[0]?.cron.source).toBe("0 2 * * *");
    expect(d.file.retrain?.["flights-delay"]?.budget?.maxRuns).toBe(3);
  });

  it("names the line and key path of a bad value", () => {
    const e = errorOf(EXAMPLE.replace("weight: 0.1", "weight: 3"));
    expect(isLoopmlError(e, "INVALID_ARGUMENT")).toBe(true);
    expect(e.message).toMatch(/^loopml\.yaml:16 deployments\.web\.canary\.weight: .*<=1/);
  });

  it("names an unknown key itself", () => {
    const e = errorOf(EXAMPLE.replace("    replicas: 2", "    replicas: 2\n    replcas: 3"));
    expect(e.message).toMatch(/loopml\.yaml:18 deployments\.web\.replcas: unknown key "replcas"/);
  });

  it("rejects references to things the file does not declare", () => {
    expect(errorOf(EXAMPLE.replace("monitors: [web-drift]", "monitors: [nope]")).message).toMatch(
      /retrain\.flights-delay\.on\.monitors\[0\]: monitor "nope" is not declared/,
    );
    expect(errorOf(EXAMPLE.replace("deployment: web", "deployment: api")).message).toMatch(
      /monitors\.web-drift\.deployment: deployment "api"/,
    );
  });

  it("keeps the pipeline parser's own errors for stages", () => {
    expect(errorOf(EXAMPLE.replace("fit: { run: node train.js,", "fit: { rn: x,")).message).toMatch(
      /pipelines\.train\.stages\.fit/,
    );
  });
});

describe("loopml.schema.json", () => {
  it("is the schema generated from the zod types (regenerate with loopml schema > loopml.schema.json)", () => {
    const committed = JSON.parse(
      readFileSync(join(import.meta.dirname, "..", "..", "loopml.schema.json"), "utf8"),
    ) as unknown;
    expect(committed).toEqual(desiredStateJsonSchema());
  });
});
