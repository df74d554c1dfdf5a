// loopml models export NAME@V --format onnx|loopml --output FILE: write a registered model for use elsewhere.
import { createHash } from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { toOnnx } from "../../../learn/onnx/index.ts";
import { deserializeModel, serializeModel } from "../../../learn/serialize/index.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService } from "../../../registry/service.ts";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

const FORMATS = ["onnx", "loopml"] as const;
type Format = (typeof FORMATS)[number];

/** `NAME@VERSION` or `NAME@alias`. */
function parseRef(ref: string): { model: string; ref: number | string } {
  const at = ref.indexOf("@");
  if (at <= 0 || at === ref.length - 1) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${ref}" names no version: write NAME@VERSION or NAME@ALIAS, e.g. churn@3 or churn@production.`,
    );
  }
  const v = ref.slice(at + 1);
  return { model: ref.slice(0, at), ref: /^\d+$/.test(v) ? Number(v) : v };
}

/** Converts a stored artifact to the requested format. */
export function exportArtifact(
  bytes: Uint8Array,
  flavor: string | null,
  format: Format,
  what: string,
): Uint8Array {
  if (flavor === "onnx") {
    if (format === "onnx") return bytes;
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `${what} is an ONNX model; it can only be exported as --format onnx.`,
    );
  }
  if (flavor === "xgboost-json") {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `${what} is an XGBoost JSON model; convert it with onnxmltools, or retrain it with loopml train to export it.`,
    );
  }
  const { model } = deserializeModel(bytes);
  return format === "onnx" ? toOnnx(model, { name: what }) : serializeModel(model);
}

export function registerModelExportCommand(models: Command): void {
  models
    .command("export")
    .description("write a registered version as ONNX (onnxruntime, Triton, …) or as a loopml model file")
    .argument("<ref>", "NAME@VERSION or NAME@ALIAS")
    .requiredOption("--output <file>", "file to write")
    .option("--format <format>", `one of ${FORMATS.join(", ")}`, "onnx")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml models export churn@3 --format onnx --output churn.onnx\n  loopml models export churn@production --format loopml --output churn.lmd",
    )
    .exitOverride()
    .action(
      async (refText: string, opts: { output: string; format: string; json?: boolean }, cmd: Command) => {
        if (!(FORMATS as readonly string[]).includes(opts.format)) {
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            `--format "${opts.format}" is not one of ${FORMATS.join(", ")}.`,
          );
        }
        const format = opts.format as Format;
        const { model, ref } = parseRef(refText);
        const result = await withWorkspace(cmd, async (ws) => {
          const registry = createRegistryService(
            { ...ws, events: createRegistryEvents() },
            { actor: ws.config.actor, role: "viewer" },
          );
          const v = await registry.getVersion(model, ref);
          const what = `${v.model}@${v.version}`;
          if (v.blobId === null) {
            throw new LoopmlError(
              "FAILED_PRECONDITION",
              `${what} has no artifact stored in loopml (source ${v.source}); export it where it lives.`,
            );
          }
          const bytes = exportArtifact(await ws.blobs.getBytes(v.blobId), v.flavor, format, what);
          // Write then rename, so that an interrupted export never leaves half a model behind.
          const tmp = `${opts.output}.${process.pid}.tmp`;
          await writeFile(tmp, bytes);
          await rename(tmp, opts.output);
          return {
            model: v.model,
            version: v.version,
            format,
            output: opts.output,
            bytes: bytes.length,
            sha256: createHash("sha256").update(bytes).digest("hex"),
          };
        });
        emit(
          opts.json === true,
          result,
          () =>
            `${result.model}@${result.version} → ${result.output} (${result.format}, ${result.bytes} bytes)`,
        );
      },
    );
}
