// Incremental RFC 4180 CSV reading (quoted fields, embedded newlines) and typing of cells against a model signature.
import { LoopmlError } from "../errors.ts";
import type { ModelSignature } from "./types.ts";

export interface CsvParser {
  /** Feeds text; returns the records completed by it. */
  push(text: string): string[][];
  /** Returns the last record if the input did not end with a newline; errors on an open quote. */
  end(): string[][];
}

/**
 * @example
 * const parser = createCsvParser();
 * const records = [...parser.push('a,b\n1,"x,y"\n'), ...parser.end()];
 */
export function createCsvParser(): CsvParser {
  let field = "";
  let record: string[] = [];
  let quoted = false;
  // A quote seen inside a quoted field: either the closing quote or the first half of "".
  let quotePending = false;
  let line = 1;
  let fieldStarted = false;

  const push = (text: string): string[][] => {
    const out: string[][] = [];
    let i = 0;
    const n = text.length;
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (quoted) {
        if (quotePending) {
          quotePending = false;
          if (ch === 34) {
            field += '"';
            i++;
            continue;
          }
          quoted = false;
          continue;
        }
        if (ch === 34) {
          quotePending = true;
          i++;
          continue;
        }
        // Copy the run up to the next quote in one slice.
        const next = text.indexOf('"', i);
        const stop = next < 0 ? n : next;
        const chunk = text.slice(i, stop);
        for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === 10) line++;
        field += chunk;
        i = stop;
        continue;
      }
      if (ch === 34 && !fieldStarted) {
        quoted = true;
        fieldStarted = true;
        i++;
      } else if (ch === 44) {
        record.push(field);
        field = "";
        fieldStarted = false;
        i++;
      } else if (ch === 10 || ch === 13) {
        if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
        i++;
        line++;
        if (record.length > 0 || fieldStarted || field !== "") {
          record.push(field);
          out.push(record);
        }
        record = [];
        field = "";
        fieldStarted = false;
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13) break;
          j++;
        }
        field += text.slice(i, j);
        fieldStarted = true;
        i = j;
      }
    }
    return out;
  };

  return {
    push,
    end() {
      if (quoted && !quotePending) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `CSV has a quoted field left open at line ${line}; close the quote.`,
        );
      }
      quoted = false;
      quotePending = false;
      if (record.length > 0 || fieldStarted || field !== "") {
        record.push(field);
        const last = record;
        record = [];
        field = "";
        fieldStarted = false;
        return [last];
      }
      return [];
    },
  };
}

const MISSING = new Set(["", "NA", "NaN", "nan", "null", "NULL", "None"]);

/**
 * Types CSV cells for decodeSplit: numbers for "double" columns (missing markers become null, anything
 * else unparsable stays a string so the decoder names it), strings for "string" columns.
 */
export function typeCsvRecords(
  signature: ModelSignature,
  header: readonly string[],
  records: readonly (readonly string[])[],
  firstRow = 0,
): unknown[][] {
  const types = header.map((name) => signature.inputs.find((c) => c.name === name)?.type ?? "string");
  return records.map((record, r) => {
    if (record.length !== header.length) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `CSV row ${firstRow + r + 1} has ${record.length} fields but the header has ${header.length}; fix the row.`,
        { row: firstRow + r },
      );
    }
    const cells: unknown[] = new Array<unknown>(record.length);
    for (let c = 0; c < record.length; c++) {
      const s = record[c] as string;
      if (types[c] === "string") cells[c] = s === "" ? null : s;
      else if (MISSING.has(s)) cells[c] = null;
      else {
        const v = Number(s);
        cells[c] = Number.isNaN(v) || s.trim() === "" ? s : v;
      }
    }
    return cells;
  });
}
