// Property-based fuzzing of the in-process parsers: any input either parses or fails with a LoopmlError, never another exception.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDuck, type Duck } from "../../src/data/duck.ts";
import { profileFile } from "../../src/data/profile.ts";
import { readFrame } from "../../src/data/read-frame.ts";
import { isLoopmlError } from "../../src/errors.ts";
import { parseDesiredState } from "../../src/loop/desired-state.ts";
import { EXAMPLE } from "../../src/loop/testing/example.ts";
import { parsePipelinesYaml } from "../../src/pipeline/parse.ts";
import { decodeColumns, decodeRows, decodeSplit } from "../../src/serving/decode.ts";
import { createCsvParser, typeCsvRecords } from "../../src/serving/csv.ts";
import type { ModelSignature } from "../../src/serving/types.ts";
import { parseFilter, parseOrderBy } from "../../src/tracking/filter.ts";
import { makeTempDir } from "../setup/tmp.ts";

// A fixed seed so that a failure reproduces; fast-check prints the counterexample and its path.
const SEED = 20261127;
const opts = (numRuns: number) => ({ seed: SEED, numRuns });

/** Runs f; passes when it returns or throws a LoopmlError, fails (rethrows) on any other exception. */
function onlyLoopmlErrors<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (isLoopmlError(e)) {
      expect(e.httpStatus).toBeGreaterThanOrEqual(400);
      expect(e.httpStatus).toBeLessThan(500);
      return undefined;
    }
    throw e;
  }
}

async function onlyLoopmlErrorsAsync<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    if (isLoopmlError(e)) {
      expect(e.httpStatus).toBeLessThan(500);
      return undefined;
    }
    throw e;
  }
}

// Pieces of the filter grammar, so that generated strings get past the first token often.
const filterToken = fc.constantFrom(
  "metrics.auc",
  "params.lr",
  "tags.`a b`",
  "attributes.status",
  "attribute.start_time",
  "run_name",
  "metrics.",
  "=",
  "!=",
  "<",
  ">=",
  "LIKE",
  "ILIKE",
  "IN",
  "NOT IN",
  "AND",
  "and",
  "OR",
  "'x'",
  '"y"',
  "('a', 'b')",
  "(",
  ")",
  ",",
  "0.5",
  "-1e309",
  "NaN",
  "'",
  "`",
  "\\",
  "%",
);
const filterText = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.array(filterToken, { maxLength: 12 }).map((t) => t.join(" ")),
  fc.array(filterToken, { maxLength: 12 }).map((t) => t.join("")),
);

describe("tracking filter language", () => {
  it("parseFilter returns conditions or throws INVALID_ARGUMENT", () => {
    fc.assert(
      fc.property(filterText, (src) => {
        const out = onlyLoopmlErrors(() => parseFilter(src));
        if (out) for (const c of out) expect(["metric", "param", "tag", "attribute"]).toContain(c.entity);
      }),
      opts(800),
    );
  });

  it("parseOrderBy returns terms or throws INVALID_ARGUMENT", () => {
    fc.assert(
      fc.property(fc.array(filterText, { maxLength: 3 }), (terms) => {
        onlyLoopmlErrors(() => parseOrderBy(terms));
      }),
      opts(1000),
    );
  });
});

// loopml.yaml: arbitrary text, and the complete example with lines dropped, duplicated or given odd values.
const yamlScalar = fc.constantFrom(
  "",
  "~",
  "null",
  "[]",
  "{}",
  "-1",
  "1e999",
  ".nan",
  "yes",
  "'0'",
  "&a x",
  "*a",
  "!!binary aGk=",
  "[a, [b, {c: d}]]",
  "'../../etc/passwd'",
  "{ <<: *a }",
  "? complex",
  "|\n  block",
  '"\\u0000"',
  "x: y: z",
);
const mutatedExample = fc
  .tuple(
    fc.array(fc.tuple(fc.nat(), fc.constantFrom("drop", "dup", "value", "indent", "garbage")), {
      minLength: 1,
      maxLength: 4,
    }),
    yamlScalar,
    fc.string({ maxLength: 10 }),
  )
  .map(([edits, scalar, garbage]) => {
    const lines = EXAMPLE.split("\n");
    for (const [at, kind] of edits) {
      const i = at % lines.length;
      const line = lines[i] ?? "";
      if (kind === "drop") lines.splice(i, 1);
      else if (kind === "dup") lines.splice(i, 0, line);
      else if (kind === "indent") lines[i] = ` ${line}`;
      else if (kind === "garbage") lines[i] = line + garbage;
      else lines[i] = line.replace(/:\s.*$/, `: ${scalar}`);
    }
    return lines.join("\n");
  });
const yamlText = fc.oneof(fc.string({ maxLength: 200 }), mutatedExample, mutatedExample);

describe("loopml.yaml", () => {
  it("parseDesiredState accepts or throws INVALID_ARGUMENT, for arbitrary text and mutated examples", () => {
    let accepted = 0;
    fc.assert(
      fc.property(yamlText, (text) => {
        if (onlyLoopmlErrors(() => parseDesiredState(text))) accepted++;
      }),
      opts(150),
    );
    // The mutations are mild enough that some still parse: the accepting path is fuzzed too.
    expect(accepted).toBeGreaterThan(0);
  });

  it("parsePipelinesYaml accepts or throws INVALID_ARGUMENT", () => {
    fc.assert(
      fc.property(yamlText, (text) => {
        onlyLoopmlErrors(() => parsePipelinesYaml(text));
      }),
      opts(150),
    );
  });

  it("a deeply nested document or an alias bomb is refused, not expanded", () => {
    const nested = "pipelines: " + "[".repeat(5000) + "]".repeat(5000);
    onlyLoopmlErrors(() => parseDesiredState(nested));
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      ...Array.from({ length: 12 }, (_, i) => {
        const p = i === 0 ? "a" : `b${i - 1}`;
        return `b${i}: &b${i} [*${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}]`;
      }),
      "project: p",
    ].join("\n");
    const started = Date.now();
    onlyLoopmlErrors(() => parseDesiredState(bomb));
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

// Prediction payloads: a two-column signature, arbitrary JSON for each decoder.
const signature: ModelSignature = {
  inputs: [
    { name: "f0", type: "double", nullable: true },
    { name: "city", type: "string", nullable: false },
  ],
  task: "binary",
  nClasses: 2,
};
const cell = fc.oneof(
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constantFrom(null, true, "NaN", "Infinity", "", "1e400"),
  fc.jsonValue({ maxDepth: 1 }),
);
const rowish = fc.oneof(
  fc.array(cell, { maxLength: 4 }),
  fc.dictionary(fc.constantFrom("f0", "city", "other", "__proto__", "constructor"), cell),
  cell,
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(rowish, { maxLength: 5 }));

describe("prediction payload decoders", () => {
  it("decodeRows / decodeColumns / decodeSplit return a batch of the right shape or throw a 4xx LoopmlError", () => {
    const limits = { maxRows: 3 };
    fc.assert(
      fc.property(
        anyJson,
        fc.dictionary(fc.constantFrom("f0", "city", "x"), fc.array(cell, { maxLength: 4 })),
        fc.oneof(fc.constantFrom(["f0", "city"], ["city", "f0"], ["f0", "f0"], ["nope"]), fc.jsonValue()),
        (rows, columns, splitColumns) => {
          for (const b of [
            onlyLoopmlErrors(() => decodeRows(signature, rows, limits)),
            onlyLoopmlErrors(() => decodeColumns(signature, columns, limits)),
            onlyLoopmlErrors(() => decodeSplit(signature, splitColumns, rows, limits)),
          ]) {
            if (!b) continue;
            expect(b.nRows).toBeLessThanOrEqual(3);
          }
        },
      ),
      opts(800),
    );
  });

  it("the CSV parser handles arbitrary chunks, and round-trips quoted records", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }), (chunks) => {
        const p = createCsvParser();
        onlyLoopmlErrors(() => {
          const records = [...chunks.flatMap((c) => p.push(c)), ...p.end()];
          const header = records[0] ?? [];
          typeCsvRecords(signature, header, records.slice(1));
        });
      }),
      opts(800),
    );
    const field = fc.string({ maxLength: 6, unit: fc.constantFrom("a", ",", '"', "\n", "\r\n", "é", " ") });
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: 40 }),
        (records, cut) => {
          const text = records.map((r) => r.map((f) => `"${f.replaceAll('"', '""')}"`).join(",")).join("\n");
          const p = createCsvParser();
          const at = Math.min(cut, text.length);
          const got = [...p.push(text.slice(0, at)), ...p.push(text.slice(at)), ...p.end()];
          expect(got).toEqual(records);
        },
      ),
      opts(1000),
    );
  });
});

describe("CSV files through DuckDB (readFrame and the profile of loopml data add)", () => {
  const tmp = makeTempDir();
  let duck: Duck;
  beforeAll(async () => {
    duck = await openDuck();
  });
  afterAll(async () => {
    await duck.close();
    tmp.remove();
  });

  const csvCell = fc.oneof(
    fc.string({ maxLength: 5 }),
    fc.double().map(String),
    fc.constantFrom('"', '""', '"a,b"', "\n", "\r", "NULL", "2026-13-45", "1e999", "\u0000", "é"),
  );
  const csvText = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc
      .array(fc.array(csvCell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 })
      .map((rows) => rows.map((r) => r.join(",")).join("\n")),
  );

  it("readFrame and profileFile return a frame/profile or throw INVALID_ARGUMENT naming the file", async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(csvText, async (text) => {
        const path = join(tmp.path, `f${i++}.csv`);
        writeFileSync(path, text);
        const read = await onlyLoopmlErrorsAsync(() => readFrame(path, {}, duck));
        if (read) expect(read.frame.nRows).toBeGreaterThanOrEqual(0);
        await onlyLoopmlErrorsAsync(() => profileFile(duck.conn, path, "data/f.csv"));
      }),
      opts(40),
    );
  });
});
