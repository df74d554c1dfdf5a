// loopml deploy docker | k8s | lambda: manifests validated against a strict schema, the Dockerfile's command, and the Lambda handler invoked with API Gateway events.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { frameFromColumns } from "../learn/frame.ts";
import { gbdt } from "../learn/gbdt/index.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import type { ApiGatewayEvent, ApiGatewayResult } from "../serving/lambda.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { writeServingPackage } from "./package-model.ts";
import { k8sObjects } from "./packaging.ts";

const schema = JSON.parse(
  readFileSync(join(import.meta.dirname, "fixtures", "k8s-serving.schema.json"), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** A value deep inside parsed YAML or JSON, by keys and indexes. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v;
}

const tmp = makeTempDir();
let ws: Workspace;
let expected: number;
beforeAll(async () => {
  ws = await openWorkspace({
    dir: tmp.path,
    store: "sqlite:.loopml/loopml.db",
    artifacts: `file:${join(tmp.path, "objects")}`,
  });
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  const x = Array.from({ length: 200 }, (_, i) => i / 20);
  const model = gbdt({ objective: "regression", nRounds: 5, maxDepth: 2, seed: 1 }).fit(
    frameFromColumns({ x, y: x.map((v) => 2 * v) }),
    "y",
  );
  expected = model.predict(frameFromColumns({ x: [3] }))[0] as number;
  await registry.createModel("Churn_Model");
  const { id } = await ws.blobs.put(Buffer.from(JSON.stringify(model.toJSON())));
  await registry.createVersion("Churn_Model", { blobId: id, flavor: "native" });
  await registry.setAlias("Churn_Model", "production", 1);
});
afterAll(async () => {
  await ws.close();
  tmp.remove();
});

describe("deploy k8s", () => {
  it("writes a Deployment, Service and HPA that pass the strict schema and fit together", async () => {
    const out = join(tmp.path, "k8s");
    const r = await writeServingPackage(ws, {
      kind: "k8s",
      name: "Churn_Model",
      out,
      loopmlVersion: "0.1.0",
      image: "churn:1",
    });
    expect(r.target).toEqual({ kind: "alias", model: "Churn_Model", alias: "production" });
    const docs = parseAllDocuments(readFileSync(join(out, "serving.yaml"), "utf8")).map(
      (d) => d.toJS() as unknown,
    );
    expect(docs.map((d) => at(d, "kind"))).toEqual(["Deployment", "Service", "HorizontalPodAutoscaler"]);
    for (const doc of docs) {
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    }
    const [deployment, service, hpa] = docs;
    const container = at(deployment, "spec", "template", "spec", "containers", 0);
    expect(at(deployment, "metadata", "name")).toBe("churn-model");
    expect(at(container, "args")).toEqual([
      "serve",
      "Churn_Model@production",
      "--host",
      "0.0.0.0",
      "--port",
      "8080",
      "--workers",
      "1",
    ]);
    expect(at(container, "readinessProbe", "httpGet")).toEqual({ path: "/readyz", port: "http" });
    expect((at(container, "env") as { name: string }[]).map((e) => e.name)).toEqual([
      "LOOPML_STORE",
      "LOOPML_ARTIFACTS",
    ]);
    // The Service selects the pods, the autoscaler scales the Deployment.
    for (const [k, v] of Object.entries(at(service, "spec", "selector") as Record<string, string>)) {
      expect(at(deployment, "spec", "template", "metadata", "labels", k)).toBe(v);
    }
    expect(at(hpa, "spec", "scaleTargetRef")).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "churn-model",
    });
  });

  it("the schema is strict: a misspelled probe or a bad name fails", () => {
    const [deployment] = k8sObjects({
      name: "churn",
      image: "churn:1",
      target: { kind: "alias", model: "churn", alias: "production" },
      loopmlVersion: "0.1.0",
    });
    expect(validate(deployment)).toBe(true);
    const container = at(deployment, "spec", "template", "spec", "containers", 0) as Record<string, unknown>;
    container["readinesProbe"] = container["readinessProbe"];
    delete container["readinessProbe"];
    expect(validate(deployment)).toBe(false);
    expect(validate({ ...(deployment as object), metadata: { name: "Churn_Model" } })).toBe(false);
  });

  it("refuses to overwrite without --force and names unknown models", async () => {
    const out = join(tmp.path, "k8s");
    const again = await writeServingPackage(ws, {
      kind: "k8s",
      name: "Churn_Model",
      out,
      loopmlVersion: "0.1.0",
    }).catch((e: unknown) => e);
    expect(isLoopmlError(again, "ALREADY_EXISTS")).toBe(true);
    const unknown = await writeServingPackage(ws, {
      kind: "k8s",
      name: "nope",
      out,
      loopmlVersion: "0.1.0",
    }).catch((e: unknown) => e);
    expect(isLoopmlError(unknown, "NOT_FOUND")).toBe(true);
    expect((unknown as Error).message).toMatch(/models: Churn_Model/);
  });
});

describe("deploy docker", () => {
  it("follows the registry by default and bakes the model file with --bake", async () => {
    const out = join(tmp.path, "docker");
    await writeServingPackage(ws, { kind: "docker", name: "Churn_Model", out, loopmlVersion: "0.1.0" });
    const dockerfile = readFileSync(join(out, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK .*\/readyz/);
    expect(dockerfile).toContain(
      'CMD ["node","node_modules/loopml/bin/loopml.js","serve","Churn_Model@production","--host","0.0.0.0","--port","8080","--workers","2"]',
    );
    const baked = join(tmp.path, "docker-baked");
    await writeServingPackage(ws, {
      kind: "docker",
      name: "Churn_Model",
      out: baked,
      bake: true,
      loopmlVersion: "0.1.0",
    });
    const bakedFile = readFileSync(join(baked, "Dockerfile"), "utf8");
    expect(bakedFile).toMatch(/^COPY model.json .\/model.json$/m);
    expect(bakedFile).toContain(
      '"serve","Churn_Model=/app/model.json","--model-version","1","--alias","production"',
    );
    expect(JSON.parse(readFileSync(join(baked, "model.json"), "utf8"))).toMatchObject({
      format: "loopml-gbdt",
    });
  });
});

describe("deploy lambda", () => {
  it("writes a handler that answers API Gateway v2 and v1 events, and a SAM template", async () => {
    const out = join(tmp.path, "lambda");
    await writeServingPackage(ws, {
      kind: "lambda",
      name: "Churn_Model",
      out,
      loopmlVersion: "0.1.0",
      loopmlImport: pathToFileURL(join(import.meta.dirname, "..", "index.ts")).href,
    });
    const template = parseYaml(readFileSync(join(out, "template.yaml"), "utf8")) as unknown;
    const fn = at(template, "Resources", "ChurnModelFunction");
    expect(at(fn, "Type")).toBe("AWS::Serverless::Function");
    expect(at(fn, "Properties", "Runtime")).toBe("nodejs20.x");
    expect(at(fn, "Metadata", "BuildMethod")).toBe("esbuild");
    const { handler } = (await import(pathToFileURL(join(out, "handler.ts")).href)) as {
      handler: (e: ApiGatewayEvent) => Promise<ApiGatewayResult>;
    };
    const v2 = await handler({
      version: "2.0",
      rawPath: "/v1/models/Churn_Model@production/predict",
      rawQueryString: "",
      requestContext: { http: { method: "POST" } },
      headers: { "Content-Type": "application/json" },
      body: Buffer.from(JSON.stringify({ instances: [[3]] })).toString("base64"),
      isBase64Encoded: true,
    });
    expect(v2.statusCode).toBe(200);
    const body = JSON.parse(v2.body) as { predictions: number[]; model_version: string };
    expect(body.model_version).toBe("1");
    expect(body.predictions[0]).toBeCloseTo(expected, 10);
    const v1 = await handler({
      httpMethod: "POST",
      path: "/invocations",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ dataframe_split: { columns: ["x"], data: [[3]] } }),
    });
    expect(v1.statusCode).toBe(200);
    expect((JSON.parse(v1.body) as { predictions: number[] }).predictions[0]).toBeCloseTo(expected, 10);
    const bad = await handler({
      httpMethod: "POST",
      path: "/v1/models/Churn_Model/predict",
      headers: { "content-type": "application/json" },
      body: '{"instances": [["a"]]}',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/x/);
  });
});
