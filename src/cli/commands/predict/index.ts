// loopml predict MODEL_FILE --input rows.csv --output scores.csv: batch scoring through the serving runtime.
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { scoreCsvFile } from "../../../serving/batch-predict.ts";
import { loadRuntimeFromFile } from "../../../serving/runtimes/load.ts";
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
    .argument("<model>", "model file (XGBoost JSON or loopml GBDT JSON)")
    .requiredOption("-i, --input <file>", "CSV with a header naming the model's input columns")
    .requiredOption("-o, --output <file>", "output CSV (prediction[,p_0,…]) or .jsonl")
    .option("--probabilities", "also write class probabilities")
    .option("--chunk-rows <n>", "rows predicted at a time", parseChunk, 4096)
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  loopml predict model.json --input flights.csv --output scores.csv --probabilities",
    )
    .exitOverride()
    .action(async (model: string, opts: PredictOptions) => {
      const runtime = await loadRuntimeFromFile(model);
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

function parseChunk(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `--chunk-rows "${value}" must be a positive whole number.`);
  return n;
}
