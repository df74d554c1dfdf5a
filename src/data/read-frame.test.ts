import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { getColumn } from "../learn/frame.ts";
import { readFrame } from "./read-frame.ts";

const tmp = makeTempDir();
afterAll(() => tmp.remove());

const csv = join(tmp.path, "t.csv");
writeFileSync(
  csv,
  [
    "when,delay,late,origin",
    "2001-01-02 10:00:00,5.5,true,SFO",
    "2001-01-03 11:30:00,,false,",
    "2001-02-01 00:00:00,-3,true,LAX",
    "2001-02-02 00:00:00,7,,SFO",
  ].join("\n") + "\n",
);

describe("readFrame", () => {
  it("maps numbers, booleans, datetimes and strings to typed columns with missing values kept", async () => {
    const { frame, kinds } = await readFrame(csv);
    expect(kinds).toEqual({ when: "datetime", delay: "numeric", late: "boolean", origin: "categorical" });
    expect(frame.nRows).toBe(4);
    const delay = getColumn(frame, "delay");
    expect(delay.kind === "numeric" && Array.from(delay.values)).toEqual([5.5, NaN, -3, 7]);
    const late = getColumn(frame, "late");
    expect(late.kind === "numeric" && Array.from(late.values)).toEqual([1, 0, 1, NaN]);
    const when = getColumn(frame, "when");
    expect(when.kind === "numeric" && when.values[0]).toBe(Date.UTC(2001, 0, 2, 10));
    const origin = getColumn(frame, "origin");
    expect(origin.kind).toBe("categorical");
    if (origin.kind === "categorical") {
      expect(origin.dictionary).toEqual(["LAX", "SFO"]);
      expect(Array.from(origin.codes)).toEqual([1, -1, 0, 1]);
    }
  });

  it("selects columns, filters and orders rows in SQL", async () => {
    const { frame } = await readFrame(csv, {
      columns: ["delay"],
      where: 'month("when") = 2',
      orderBy: "delay",
    });
    const delay = getColumn(frame, "delay");
    expect(delay.kind === "numeric" && Array.from(delay.values)).toEqual([-3, 7]);
  });

  it("names the columns that exist when one is missing", async () => {
    const err = await readFrame(csv, { columns: ["nope"] }).catch((e: unknown) => e);
    expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
    expect((err as Error).message).toMatch(/no column "nope" \(columns: when, delay, late, origin\)/);
  });

  it("rejects a ragged CSV", async () => {
    const bad = join(tmp.path, "bad.csv");
    writeFileSync(bad, "a,b\n1,2\n3\n");
    const err = await readFrame(bad).catch((e: unknown) => e);
    expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
  });
});
