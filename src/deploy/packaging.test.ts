// loopml deploy docker | k8s | lambda: manifests validated against the official Kubernetes schemas (strictly) and with each other, the Dockerfile's command, and the Lambda handler invoked with API Gateway events.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { frameFromColumns } from "../learn/frame.ts";
import { gbdt } from "../learn/gbdt/index.ts";
import type { GbdtModel } from "../learn/gbdt/model.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import type { ApiGatewayEvent, ApiGatewayResult } from "../serving/lambda.ts";
import { loadRuntime } from "../serving/runtimes/load.ts";
import { registerServingRoutes } from "../serving/server.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { writeServingPackage } from "./package-model.ts";
import { dockerPackage, k8sObjects, type K8sOptions, type ServeTarget } from "./packaging.ts";
import { officialSchemaProblems, servingSetProblems } from "./testing/k8s-validate.ts";

/** Moves a field to a new key, as a typo would. */
function rename(o: Record<string, unknown>, from: string, to: string): void {
  o[to] = o[from];
  delete o[from];
}

/** A value deep inside parsed YAML or JSON, by keys and indexes. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v;
}

const tmp = makeTempDir();
let ws: Workspace;
let expected: number;
let model: GbdtModel;
beforeAll(async () => {
  ws = await openWorkspace({
    dir: tmp.path,
    store: "sqlite:.loopml/loopml.db",
    artifacts: `file:${join(tmp.path, "objects")}`,
  });
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  const x = Array.from({ length: 200 }, (_, i) => i / 20);
  model = gbdt({ objective: "regression", nRounds: 5, maxDepth: 2, seed: 1 }).fit(
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

/** A fresh set of serving objects to break, one way per test case. */
function objects(overrides: Partial<K8sOptions> = {}): Record<string, unknown>[] {
  return k8sObjects({
    name: "churn",
    image: "churn:1",
    target: { kind: "alias", model: "churn", alias: "production" },
    loopmlVersion: "0.1.0",
    ...overrides,
  });
}

const container = (deployment: unknown) =>
  at(deployment, "spec", "template", "spec", "containers", 0) as Record<string, unknown>;

describe("deploy k8s", () => {
  it("writes a Deployment, Service and HPA that pass the official schemas strictly and fit together", async () => {
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
    for (const doc of docs) expect(officialSchemaProblems(doc)).toEqual([]);
    expect(servingSetProblems(docs)).toEqual([]);
    const [deployment, service, hpa] = docs;
    const c = container(deployment);
    expect(at(deployment, "metadata", "name")).toBe("churn-model");
    expect(at(c, "args")).toEqual([
      "serve",
      "Churn_Model@production",
      "--host",
      "0.0.0.0",
      "--port",
      "8080",
      "--workers",
      "1",
    ]);
    expect(at(c, "ports")).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(at(c, "readinessProbe", "httpGet")).toEqual({ path: "/readyz", port: "http" });
    expect((at(c, "env") as { name: string }[]).map((e) => e.name)).toEqual([
      "LOOPML_STORE",
      "LOOPML_ARTIFACTS",
    ]);
    expect(at(service, "spec", "ports", 0, "targetPort")).toBe("http");
    expect(at(hpa, "spec", "scaleTargetRef")).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "churn-model",
    });
  });

  it("probes paths the serving routes really answer: /readyz ready once the model is loaded, /healthz live", async () => {
    const app = Fastify();
    await registerServingRoutes(app, {
      models: [
        { name: "churn", version: "1", aliases: ["production"], runtime: loadRuntime(model.toJSON()) },
      ],
    });
    try {
      const c = container(objects()[0]);
      const readiness = await app.inject(String(at(c, "readinessProbe", "httpGet", "path")));
      expect(readiness.statusCode).toBe(200);
      expect(readiness.json()).toEqual({ ready: true, models: ["churn:1"] });
      expect((await app.inject(String(at(c, "livenessProbe", "httpGet", "path")))).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("every target and name gives valid objects: registry alias, stored deployment, baked file; odd and long names", () => {
    const targets: ServeTarget[] = [
      { kind: "alias", model: "churn", alias: "production" },
      { kind: "deployment", deployment: "churn-canary" },
      { kind: "file", model: "churn", version: 3, aliases: ["production"] },
    ];
    const names = ["churn", "2024 Churn.Model", "_x_", `${"a".repeat(52)}-tail-beyond-the-limit`];
    for (const target of targets) {
      for (const name of names) {
        const docs = objects({ name, target, port: 9000, minReplicas: 1, maxReplicas: 3, cpuTarget: 50 });
        for (const doc of docs) expect(officialSchemaProblems(doc), `${name} ${target.kind}`).toEqual([]);
        expect(servingSetProblems(docs), `${name} ${target.kind}`).toEqual([]);
        const c = container(docs[0]);
        const args = at(c, "args") as string[];
        expect(args[args.indexOf("--port") + 1]).toBe("9000");
        expect(at(c, "ports", 0, "containerPort")).toBe(9000);
      }
    }
  });

  it.each([
    [
      "a misspelled field",
      (d: unknown) => rename(container(d), "readinessProbe", "readinesProbe"),
      /containers\[0\]\.readinesProbe: unknown field/,
    ],
    [
      "a field in the wrong place",
      (d: unknown) => ((at(d, "spec") as Record<string, unknown>)["image"] = "x"),
      /^spec\.image: unknown field/,
    ],
    [
      "a container port as a string",
      (d: unknown) => ((at(container(d), "ports", 0) as Record<string, unknown>)["containerPort"] = "8080"),
      /containerPort must be integer/,
    ],
    [
      "a bad CPU quantity",
      (d: unknown) => ((at(container(d), "resources", "requests") as Record<string, unknown>)["cpu"] = "abc"),
      /requests\/cpu must match format "quantity"/,
    ],
    [
      "a missing required field",
      (d: unknown) => delete (at(d, "spec") as Record<string, unknown>)["selector"],
      /spec must have required property selector/,
    ],
    [
      "a bad enum value",
      (d: unknown) => ((at(d, "spec", "strategy") as Record<string, unknown>)["type"] = "Rolling"),
      /strategy\/type must be equal to one of the allowed values/,
    ],
    [
      "a wrong apiVersion",
      (d: unknown) => ((d as Record<string, unknown>)["apiVersion"] = "apps/v1beta9"),
      /no official schema here for apiVersion apps\/v1beta9/,
    ],
  ])("the official schema check catches %s", (_what, breakIt, message) => {
    const [deployment] = objects();
    expect(officialSchemaProblems(deployment)).toEqual([]);
    breakIt(deployment);
    const problems = officialSchemaProblems(deployment);
    expect(problems.join("\n")).toMatch(message);
  });

  it("the official schema check also catches a misspelled Service or autoscaler field", () => {
    const [, service, hpa] = objects();
    rename(at(service, "spec") as Record<string, unknown>, "selector", "selectr");
    expect(officialSchemaProblems(service)).toEqual([
      "spec.selectr: unknown field (not in the official schema)",
    ]);
    (at(hpa, "spec") as Record<string, unknown>)["maxReplicas"] = "10";
    expect(officialSchemaProblems(hpa).join()).toMatch(/maxReplicas must be integer/);
  });

  it.each([
    [
      "a Service selecting other pods",
      ([, s]: unknown[]) =>
        ((at(s, "spec", "selector") as Record<string, string>)["app.kubernetes.io/name"] = "other"),
      /Service selector .* does not match the pod labels/,
    ],
    [
      "a Deployment selector missing its pods",
      ([d]: unknown[]) =>
        ((at(d, "spec", "selector", "matchLabels") as Record<string, string>)["tier"] = "x"),
      /Deployment selector .* does not match/,
    ],
    [
      "an autoscaler aimed at another Deployment",
      ([, , h]: unknown[]) => ((at(h, "spec", "scaleTargetRef") as Record<string, string>)["name"] = "other"),
      /scales .*"other".*not the Deployment/,
    ],
    [
      "a readiness probe on an unnamed port",
      ([d]: unknown[]) =>
        ((at(container(d), "readinessProbe", "httpGet") as Record<string, unknown>)["port"] = "web"),
      /readinessProbe port "web" is not a port/,
    ],
    [
      "a Service targeting a port the container lacks",
      ([, s]: unknown[]) => ((at(s, "spec", "ports", 0) as Record<string, unknown>)["targetPort"] = 9999),
      /Service targetPort 9999 is not a container port/,
    ],
    [
      "CPU autoscaling without a CPU request",
      ([d]: unknown[]) =>
        delete (at(container(d), "resources", "requests") as Record<string, unknown>)["cpu"],
      /no CPU request/,
    ],
    [
      "a Service name starting with a digit",
      ([, s]: unknown[]) => ((at(s, "metadata") as Record<string, unknown>)["name"] = "2024-churn"),
      /Service name "2024-churn" is not a valid/,
    ],
  ])("the cross-object check catches %s", (_what, breakIt, message) => {
    const docs = objects();
    expect(servingSetProblems(docs)).toEqual([]);
    breakIt(docs);
    expect(servingSetProblems(docs).join("\n")).toMatch(message);
  });

  it("defaults to the image loopml deploy docker builds, and a floor that fits a small --max-replicas", async () => {
    const out = join(tmp.path, "k8s-defaults");
    await writeServingPackage(ws, { kind: "k8s", name: "Churn_Model", out, loopmlVersion: "0.1.0" });
    const [deployment] = parseAllDocuments(readFileSync(join(out, "serving.yaml"), "utf8")).map(
      (d) => d.toJS() as unknown,
    );
    const docker = dockerPackage({
      name: "Churn_Model",
      target: { kind: "alias", model: "Churn_Model", alias: "production" },
      loopmlVersion: "0.1.0",
    });
    const tag = /docker build -t (\S+) \./.exec(docker[0]?.content ?? "")?.[1];
    expect(tag).toBe("churn-model-serving");
    expect(at(container(deployment), "image")).toBe(`${tag}:latest`);

    const one = objects({ maxReplicas: 1 });
    expect(servingSetProblems(one)).toEqual([]);
    expect(at(one[2], "spec", "minReplicas")).toBe(1);
    // The autoscaler owns the replica count: a fixed one would be reset by every kubectl apply.
    expect(at(one[0], "spec", "replicas")).toBeUndefined();
    expect(at(objects({ replicas: 3 })[0], "spec", "replicas")).toBe(3);
    let refused: unknown;
    try {
      objects({ minReplicas: 5, maxReplicas: 3 });
    } catch (e) {
      refused = e;
    }
    expect(isLoopmlError(refused, "INVALID_ARGUMENT")).toBe(true);
    expect((refused as Error).message).toMatch(/minimum 5 replicas is above its maximum 3/);
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
