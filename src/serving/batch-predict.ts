// Batch scoring of a CSV file through a runtime: streamed in chunks of rows, so memory stays bounded by the chunk size.
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { once } from "node:events";
import { LoopmlError } from "../errors.ts";
import { createCsvParser, typeCsvRecords } from "./csv.ts";
import { decodeSplit } from "./decode.ts";
import type { ModelRuntime, PredictResult } from "./types.ts";

export interface ScoreFileOptions {
  readonly runtime: ModelRuntime;
  /** CSV with a header naming the model's input columns (extra columns are ignored). */
  readonly input: string;
  /** CSV (prediction[, p_0, …]) or, when the name ends in .jsonl, one JSON object per row. */
  readonly output: string;
  /** Rows predicted per call; memory is proportional to it. */
  readonly chunkRows?: number;
  /** Also write class probabilities (classifiers). */
  readonly probabilities?: boolean;
  /** Bytes of input read so far, of the total. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface ScoreFileResult {
  readonly rows: number;
  readonly output: string;
}

/**
 * Scores every row of a CSV file. The output is written to a temporary file and renamed at the end, so a
 * failure (bad row, kill) never leaves a partial output under the requested name.
 *
 * @example
 * await scoreCsvFile({ runtime, input: "rows.csv", output: "scores.csv", probabilities: true });
 */
export async function scoreCsvFile(options: ScoreFileOptions): Promise<ScoreFileResult> {
  const { runtime, input, output } = options;
  const chunkRows = options.chunkRows ?? 4096;
  const signature = runtime.signature;
  const withProbabilities = options.probabilities === true && signature.task !== "regression";
  if (options.probabilities === true && !withProbabilities) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "--probabilities needs a classifier but this model is a regression model.",
    );
  }
  const total = await stat(input).then(
    (s) => s.size,
    () => {
      throw new LoopmlError("NOT_FOUND", `Input file "${input}" does not exist; check the path.`);
    },
  );
  const jsonl = output.endsWith(".jsonl");
  const tmp = `${output}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  const parser = createCsvParser();
  // Kept so that a write failure surfaces at the next write instead of as an unhandled event.
  let writeError: Error | null = null;
  out.on("error", (e) => {
    writeError = e;
  });
  const write = async (text: string): Promise<void> => {
    if (writeError) throw writeError;
    if (!out.write(text)) await once(out, "drain");
  };
  let header: string[] | null = null;
  let keep: number[] = [];
  let pending: string[][] = [];
  let rows = 0;
  let bytes = 0;

  const flush = async (): Promise<void> => {
    if (pending.length === 0 || !header) return;
    const names = keep.map((i) => header?.[i] as string);
    const records = pending.map((r) => keep.map((i) => r[i] ?? ""));
    const batch = decodeSplit(signature, names, typeCsvRecords(signature, names, records, rows), {
      maxRows: Number.MAX_SAFE_INTEGER,
      rowOffset: rows,
    });
    await write(format(runtime, runtime.predict(batch), batch.nRows, withProbabilities, jsonl));
    rows += pending.length;
    pending = [];
  };

  try {
    if (!jsonl) await write(csvHeader(signature.nClasses, withProbabilities));
    for await (const chunk of createReadStream(input, { encoding: "utf8", highWaterMark: 1 << 16 })) {
      bytes += Buffer.byteLength(chunk as string);
      for (const record of parser.push(chunk as string)) {
        if (!header) {
          header = record;
          keep = columnsToKeep(
            signature.inputs.map((c) => c.name),
            header,
          );
          continue;
        }
        pending.push(record);
        if (pending.length >= chunkRows) await flush();
      }
      options.onProgress?.(bytes, total);
    }
    for (const record of parser.end()) {
      if (!header) {
        header = record;
        keep = columnsToKeep(
          signature.inputs.map((c) => c.name),
          header,
        );
      } else pending.push(record);
    }
    if (!header)
      throw new LoopmlError("INVALID_ARGUMENT", `Input file "${input}" is empty; it needs a header line.`);
    await flush();
    out.end();
    await once(out, "finish");
    await rename(tmp, output);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
  return { rows, output };
}

/** Positions of the model's columns in the file header; extra file columns (ids, labels) are skipped. */
function columnsToKeep(inputs: readonly string[], header: readonly string[]): number[] {
  const missing = inputs.filter((n) => !header.includes(n));
  if (missing.length > 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The input file lacks column${missing.length > 1 ? "s" : ""} ${missing.map((n) => `"${n}"`).join(", ")} that the model needs (it has ${header.join(", ")}).`,
      { column: missing[0] },
    );
  }
  return inputs.map((n) => header.indexOf(n));
}

function csvHeader(nClasses: number, probabilities: boolean): string {
  const cols = ["prediction"];
  if (probabilities) for (let k = 0; k < nClasses; k++) cols.push(`p_${k}`);
  return `${cols.join(",")}\n`;
}

function format(
  runtime: ModelRuntime,
  result: PredictResult,
  n: number,
  probabilities: boolean,
  jsonl: boolean,
): string {
  const k = runtime.signature.nClasses;
  const p = result.probabilities;
  const lines: string[] = new Array<string>(n);
  for (let r = 0; r < n; r++) {
    const prediction = result.predictions[r] as number;
    if (jsonl) {
      lines[r] = JSON.stringify(
        probabilities && p
          ? { prediction, probabilities: Array.from(p.subarray(r * k, r * k + k)) }
          : { prediction },
      );
    } else {
      lines[r] =
        probabilities && p ? `${prediction},${p.subarray(r * k, r * k + k).join(",")}` : String(prediction);
    }
  }
  return `${lines.join("\n")}\n`;
}
