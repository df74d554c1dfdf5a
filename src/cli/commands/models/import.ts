// loopml models import FILE --name NAME: register a model trained elsewhere (ONNX, XGBoost JSON) or a
// loopml model file, with the signature its runtime infers.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { isLoopmlError, LoopmlError } from "../../../errors.ts";
import { isEnvelope } from "../../../learn/serialize/index.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService } from "../../../registry/service.ts";
import { FLAVORS, type Flavor, type Signature } from "../../../registry/types.ts";
import { loadRuntimeFromBytes } from "../../../serving/runtimes/load.ts";
import type { ModelSignature } from "../../../serving/types.ts";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

/** The flavor of a model file from its content (and the .onnx extension for protobuf). */
export function detectFlavor(path: string, bytes: Uint8Array): Flavor {
  if (isEnvelope(bytes)) return "native";
  const head = Buffer.from(bytes.subarray(0, 1)).toString("latin1");
  if (head === "{") {
    try {
      const doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
      if ("learner" in doc) return "xgboost-json";
      if (typeof doc.format === "string" && doc.format.startsWith("loopml-")) return "native";
    } catch {
      // not JSON after all: fall through
    }
  }
  if (path.endsWith(".onnx")) return "onnx";
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `Cannot tell what kind of model "${path}" is; name ONNX files *.onnx or pass --flavor (${FLAVORS.join(", ")}).`,
  );
}

/** The registry's signature for what a runtime accepts and returns. */
export function registrySignature(s: ModelSignature): Signature {
  return {
    inputs: s.inputs.map((c) => ({ name: c.name, type: c.type })),
    outputs:
      s.task === "regression"
        ? [{ name: "prediction", type: "double" }]
        : [
            { name: "label", type: "long" },
            { name: "probabilities", type: "double" },
          ],
  };
}

export function registerModelImportCommand(models: Command): void {
  models
    .command("import")
    .description("register a model file (ONNX, XGBoost JSON, loopml) as a new version, signature inferred")
    .argument("<file>", "the model file")
    .requiredOption("--name <name>", "registered model name (created when new)")
    .option("--flavor <flavor>", `force the runtime: ${FLAVORS.join(", ")} (detected by default)`)
    .option("--description <text>", "what this version is")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml models import churn.onnx --name churn\n  loopml models import xgb.json --name churn --description 'from the notebook'",
    )
    .exitOverride()
    .action(
      async (
        file: string,
        opts: { name: string; flavor?: string; description?: string; json?: boolean },
        cmd: Command,
      ) => {
        if (opts.flavor !== undefined && !(FLAVORS as readonly string[]).includes(opts.flavor)) {
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            `--flavor "${opts.flavor}" is not one of ${FLAVORS.join(", ")}.`,
          );
        }
        let bytes: Buffer;
        try {
          bytes = await readFile(file);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          throw new LoopmlError(
            code === "ENOENT" ? "NOT_FOUND" : "INVALID_ARGUMENT",
            `Cannot read model file "${file}" (${code ?? (e as Error).message}); check the path.`,
          );
        }
        const flavor = (opts.flavor as Flavor | undefined) ?? detectFlavor(file, bytes);
        // Loading it proves the runtime can serve it and yields the signature.
        const runtime = await loadRuntimeFromBytes(bytes, flavor, `Model file "${file}"`);
        const signature = registrySignature(runtime.signature);
        const version = await withWorkspace(cmd, async (ws) => {
          const registry = createRegistryService(
            { ...ws, events: createRegistryEvents() },
            { actor: ws.config.actor, role: "admin" },
          );
          try {
            await registry.getModel(opts.name);
          } catch (e) {
            if (!isLoopmlError(e, "NOT_FOUND")) throw e;
            await registry.createModel(opts.name);
          }
          const blob = await ws.blobs.put(bytes);
          return registry.createVersion(opts.name, {
            blobId: blob.id,
            flavor,
            signature,
            ...(opts.description !== undefined && { description: opts.description }),
          });
        });
        emit(
          opts.json === true,
          { ...version, task: runtime.signature.task },
          () =>
            `registered ${version.model}@${version.version} (${flavor}, ${runtime.signature.task}, inputs ${signature.inputs
              .map((c) => `${c.name}:${c.type}`)
              .join(", ")})`,
        );
      },
    );
}
