// loopml feedback: ground truth for earlier predictions, keyed by request id, from a CSV/Parquet file or one pair.
import { resolve } from "node:path";
import type { Command } from "commander";
import { readFrame } from "../../../data/read-frame.ts";
import { LoopmlError } from "../../../errors.ts";
import { recordFeedback, type FeedbackLabel } from "../../../monitoring/feedback.ts";
import { globalOptions, withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

interface FeedbackOptions {
  model: string;
  id?: string;
  label?: string;
  idColumn: string;
  labelColumn: string;
  lookbackDays: number;
  json?: boolean;
}

export function registerFeedbackCommand(program: Command): void {
  program
    .command("feedback")
    .argument("[file]", "CSV or Parquet with a request id column and a label column")
    .description("record late labels (ground truth) for earlier predictions, matched by request id")
    .requiredOption("--model <name>", "the registered model that made the predictions")
    .option("--id <request-id>", "one prediction's request id (instead of a file)")
    .option("--label <value>", "its label: a number or a class name")
    .option("--id-column <name>", "request id column in the file", "request_id")
    .option("--label-column <name>", "label column in the file", "label")
    .option(
      "--lookback-days <n>",
      "how far back request ids are looked up in the inference log",
      (v) => Number(v),
      30,
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml feedback --model churn labels.csv --label-column churned\n  loopml feedback --model churn --id 7f3c… --label 1",
    )
    .exitOverride()
    .action(async (file: string | undefined, opts: FeedbackOptions, cmd: Command) => {
      const labels =
        file !== undefined
          ? await labelsFromFile(resolve(globalOptions(cmd).dir, file), opts)
          : singleLabel(opts);
      const result = await withWorkspace(cmd, (ws) =>
        recordFeedback(ws, {
          model: opts.model,
          labels,
          lookbackMs: opts.lookbackDays * 86_400_000,
        }),
      );
      emit(opts.json === true, result, () =>
        [
          `${result.accepted} label(s) recorded for ${result.model}${result.replaced > 0 ? ` (${result.replaced} replaced earlier labels)` : ""}`,
          ...(result.unknown > 0
            ? [
                `${result.unknown} request id(s) are not in ${result.model}'s inference log (stored, counted by monitors): ${result.unknownIds.join(", ")}${result.unknown > result.unknownIds.length ? " …" : ""}`,
              ]
            : []),
        ].join("\n"),
      );
    });
}

function singleLabel(opts: FeedbackOptions): FeedbackLabel[] {
  if (opts.id === undefined || opts.label === undefined) {
    throw new LoopmlError("INVALID_ARGUMENT", "Give a file of labels, or one --id with its --label.");
  }
  return [{ requestId: opts.id, label: asLabel(opts.label) }];
}

async function labelsFromFile(path: string, opts: FeedbackOptions): Promise<FeedbackLabel[]> {
  const { frame } = await readFrame(path, { columns: [opts.idColumn, opts.labelColumn] });
  const [ids, labels] = frame.columns;
  const text = (c: typeof ids, i: number): string | undefined => {
    if (!c) return undefined;
    if (c.kind === "categorical") return c.codes[i]! < 0 ? undefined : c.dictionary[c.codes[i]!];
    return Number.isNaN(c.values[i]!) ? undefined : String(c.values[i]);
  };
  const out: FeedbackLabel[] = [];
  for (let i = 0; i < frame.nRows; i++) {
    const id = text(ids, i);
    const label = text(labels, i);
    if (id === undefined || label === undefined) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Row ${i + 1} of ${path} has no ${id === undefined ? opts.idColumn : opts.labelColumn}.`,
      );
    }
    out.push({ requestId: id, label: asLabel(label) });
  }
  return out;
}

function asLabel(s: string): string | number {
  const n = Number(s);
  return s.trim() !== "" && Number.isFinite(n) ? n : s;
}
