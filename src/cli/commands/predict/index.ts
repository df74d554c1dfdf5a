// loopml predict MODEL --input rows.csv --output scores.csv: batch scoring through the serving runtime (a model file or a registered version).
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService } from "../../../registry/service.ts";
import { scoreCsvFile } from "../../../serving/batch-predict.ts";
import { loadRegisteredModel } from "../../../serving/registry-source.ts";
import { loadRuntimeFromFile } from "../../../serving/runtimes/load.ts";
import type { ModelRuntime } from "../../../serving/types.ts";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";
import { createProgress } from "../../progress.ts";

interface PredictOptions {
  input: string;
  output: string;
  probabilities?: boolean;
  chunkRows: number;
  json?: boolean;
}

export function registerPredictCommand(program: Command): void {
  program
    .command("predict")
    .description("score a CSV file with a model file (streamed; memory bounded by --chunk-rows)")
    .argument(
      "<model>",
      "NAME@ALIAS or NAME:VERSION of a registered model, or a model file (XGBoost JSON, loopml GBDT JSON)",
    )
    .requiredOption("-i, --input <file>", "CSV with a header naming the model's input columns")
    .requiredOption("-o, --output <file>", "output CSV (prediction[,p_0,…]) or .jsonl")
    .option("--probabilities", "also write class probabilities")
    .option("--chunk-rows <n>", "rows predicted at a time", parseChunk, 4096)
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml predict churn@production --input flights.csv --output scores.csv --probabilities\n  loopml predict churn:3 --input flights.csv --output scores.jsonl\n  loopml predict model.json --input flights.csv --output scores.csv",
    )
    .exitOverride()
    .action(async (model: string, opts: PredictOptions, cmd: Command) => {
      const runtime = await loadModel(model, cmd);
      let progress: ReturnType<typeof createProgress> | null = null;
      const result = await scoreCsvFile({
        runtime,
        input: opts.input,
        output: opts.output,
        chunkRows: opts.chunkRows,
        probabilities: opts.probabilities === true,
        onProgress: (done, total) => {
          progress ??= createProgress({ label: "scoring", total, unit: "bytes" });
          progress.update(done);
        },
      });
      (progress as ReturnType<typeof createProgress> | null)?.finish();
      emit(
        opts.json === true,
        { ...result, runtime: runtime.kind },
        () => `scored ${result.rows} rows into ${result.output}`,
      );
    });
}

/** A file when it exists; otherwise NAME@ALIAS or NAME:VERSION from the registry, loaded as the server loads it. */
async function loadModel(ref: string, cmd: Command): Promise<ModelRuntime> {
  if (existsSync(ref)) return loadRuntimeFromFile(ref);
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)(?:@([A-Za-z][A-Za-z0-9_-]*)|:(\d+))$/.exec(ref);
  if (!m) return loadRuntimeFromFile(ref);
  const [, name = "", alias, version] = m;
  return withWorkspace(cmd, async (ws) => {
    const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
    const loaded = await loadRegisteredModel({ registry, blobs: ws.blobs }, name, alias ?? Number(version));
    return loaded.runtime;
  });
}

function parseChunk(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `--chunk-rows "${value}" must be a positive whole number.`);
  return n;
}
