// Writes a serving package for a registered model or a deployment: resolves what to serve, copies the model file when baked in, writes the files.
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LoopmlError } from "../errors.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import { createDeploymentService, splitModelRef } from "../serving/deployments.ts";
import type { Workspace } from "../workspace.ts";
import { dockerPackage, k8sName, k8sPackage, lambdaPackage, type ServeTarget } from "./packaging.ts";
import type { ScaffoldFile } from "./scaffold.ts";

export type PackageKind = "docker" | "k8s" | "lambda";

export interface PackageRequest {
  readonly kind: PackageKind;
  /** A deployment name, or a registered model name. */
  readonly name: string;
  /** For a model name: the alias served (default "production"). */
  readonly alias?: string;
  /** Copy the current version's model file into the package instead of following the registry (lambda always does). */
  readonly bake?: boolean;
  readonly out: string;
  readonly force?: boolean;
  readonly loopmlVersion: string;
  readonly port?: number;
  readonly image?: string;
  readonly replicas?: number;
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  readonly cpuTarget?: number;
  /** Where the Lambda handler imports loopml from (tests only). */
  readonly loopmlImport?: string;
}

export interface PackageResult {
  readonly kind: PackageKind;
  readonly target: ServeTarget;
  readonly files: string[];
}

/**
 * @example
 * await writeServingPackage(ws, { kind: "k8s", name: "churn", out: "deploy/k8s", image: "churn-serving:1", loopmlVersion: "0.1.0" });
 */
export async function writeServingPackage(ws: Workspace, req: PackageRequest): Promise<PackageResult> {
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  const deployments = await createDeploymentService(ws).list();
  const deployment = deployments.find((d) => d.name === req.name);
  let target: ServeTarget;
  let modelBytes: Buffer | undefined;
  const bake = req.kind === "lambda" || req.bake === true;
  if (deployment && !bake) {
    target = { kind: "deployment", deployment: deployment.name };
  } else {
    const ref = deployment
      ? splitModelRef(deployment.model)
      : { model: req.name, alias: req.alias ?? "production" };
    const models = await registry.listModels();
    if (!models.some((m) => m.name === ref.model)) {
      throw new LoopmlError(
        "NOT_FOUND",
        `"${req.name}" is neither a deployment nor a registered model; deployments: ${deployments.map((d) => d.name).join(", ") || "none"}; models: ${models.map((m) => m.name).join(", ") || "none"}.`,
      );
    }
    if (!bake) {
      await registry.getVersion(ref.model, ref.alias);
      target = { kind: "alias", model: ref.model, alias: ref.alias };
    } else {
      const v = await registry.getVersion(ref.model, ref.alias);
      if (!v.blobId || v.flavor === "onnx") {
        throw new LoopmlError(
          "FAILED_PRECONDITION",
          `Model "${ref.model}" version ${v.version} ${v.blobId ? "is an ONNX model, which needs onnxruntime's native library" : "has no artifact stored by loopml"}; a baked package needs a native or XGBoost JSON model.`,
        );
      }
      modelBytes = await ws.blobs.getBytes(v.blobId);
      target = { kind: "file", model: ref.model, version: v.version, aliases: [ref.alias] };
    }
  }
  const common = {
    name: req.name,
    target,
    loopmlVersion: req.loopmlVersion,
    ...(req.port !== undefined && { port: req.port }),
  };
  let files: ScaffoldFile[];
  if (req.kind === "docker") files = dockerPackage(common);
  else if (req.kind === "k8s") {
    files = k8sPackage({
      ...common,
      // The tag loopml deploy docker tells to build.
      image: req.image ?? `${k8sName(req.name)}-serving:latest`,
      ...(req.replicas !== undefined && { replicas: req.replicas }),
      ...(req.minReplicas !== undefined && { minReplicas: req.minReplicas }),
      ...(req.maxReplicas !== undefined && { maxReplicas: req.maxReplicas }),
      ...(req.cpuTarget !== undefined && { cpuTarget: req.cpuTarget }),
    });
  } else {
    files = lambdaPackage(
      { ...common, target: target as Extract<ServeTarget, { kind: "file" }> },
      req.loopmlImport,
    );
  }
  if (modelBytes && req.kind !== "k8s")
    files.push({ path: "model.json", content: modelBytes.toString("utf8") });
  const clashes = files.map((f) => join(req.out, f.path)).filter((p) => existsSync(p));
  if (clashes.length > 0 && req.force !== true) {
    throw new LoopmlError(
      "ALREADY_EXISTS",
      `${clashes.join(", ")} already exist${clashes.length === 1 ? "s" : ""}; pass --force to overwrite or choose another --out.`,
    );
  }
  for (const f of files) {
    const path = join(req.out, f.path);
    await mkdir(dirname(path), { recursive: true });
    // Write-then-rename: an interrupted run never leaves half a manifest.
    await writeFile(`${path}.tmp`, f.content);
    await rename(`${path}.tmp`, path);
  }
  return { kind: req.kind, target, files: files.map((f) => join(req.out, f.path)) };
}
