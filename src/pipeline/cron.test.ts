import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { dueFiring, nextFireTime, parseCron } from "./cron.ts";

const iso = (ms: number): string => new Date(ms).toISOString();
const at = (s: string): number => Date.parse(s);

describe("parseCron", () => {
  it.each([
    ["*/15 * * * *", "2026-03-10T10:07:00Z", "2026-03-10T10:15:00.000Z"],
    ["0 2 * * *", "2026-03-10T10:07:00Z", "2026-03-11T02:00:00.000Z"],
    ["30 9 * * mon-fri", "2026-03-13T10:00:00Z", "2026-03-16T09:30:00.000Z"],
    ["0 0 1 jan,jul *", "2026-03-10T00:00:00Z", "2026-07-01T00:00:00.000Z"],
    ["@hourly", "2026-03-10T10:00:00Z", "2026-03-10T11:00:00.000Z"],
    ["0 12 13 * 5", "2026-03-01T00:00:00Z", "2026-03-06T12:00:00.000Z"],
    ["0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00.000Z"],
  ])("%s after %s is %s (UTC)", (expr, after, expected) => {
    expect(iso(nextFireTime(parseCron(expr), at(after)))).toBe(expected);
  });

  it("reads wall-clock times in the time zone, across DST changes", () => {
    const paris = parseCron("30 2 * * *", "Europe/Paris");
    // Winter: UTC+1.
    expect(iso(nextFireTime(paris, at("2026-01-10T12:00:00Z")))).toBe("2026-01-11T01:30:00.000Z");
    // 29 March 2026, 02:30 does not exist in Paris: it fires right after the jump (03:30 CEST = 01:30Z).
    expect(iso(nextFireTime(paris, at("2026-03-28T12:00:00Z")))).toBe("2026-03-29T01:30:00.000Z");
    // Summer: UTC+2.
    expect(iso(nextFireTime(paris, at("2026-03-30T12:00:00Z")))).toBe("2026-03-31T00:30:00.000Z");
    // 25 October 2026, 02:30 happens twice: fire once, at the first.
    const first = nextFireTime(paris, at("2026-10-24T12:00:00Z"));
    expect(iso(first)).toBe("2026-10-25T00:30:00.000Z");
    expect(iso(nextFireTime(paris, first))).toBe("2026-10-26T01:30:00.000Z");
    expect(iso(nextFireTime(parseCron("0 9 * * *", "America/New_York"), at("2026-07-01T00:00:00Z")))).toBe(
      "2026-07-01T13:00:00.000Z",
    );
  });

  it.each([
    ["* * * *", /has 4 fields; it needs 5/],
    ["61 * * * *", /minute "61" is outside 0-59/],
    ["0 0 * foo *", /month "foo" is not a number or name/],
    ["*/0 * * * *", /step that is not a whole number/],
    ["0 5-2 * * *", /runs backwards/],
  ])("rejects %s naming the field", (expr, pattern) => {
    try {
      parseCron(expr);
      expect.unreachable();
    } catch (e) {
      expect(isLoopmlError(e, "INVALID_ARGUMENT")).toBe(true);
      expect((e as Error).message).toMatch(pattern);
    }
  });

  it("rejects an unknown time zone and a date that never comes", () => {
    expect(() => parseCron("0 0 * * *", "Mars/Olympus")).toThrow(/not a time zone/);
    expect(() => nextFireTime(parseCron("0 0 31 2 *"), 0)).toThrow(/never fires/);
  });
});

describe("dueFiring", () => {
  const hourly = parseCron("0 * * * *");

  it("starts from now the first time, fires once when due, and drops a storm of missed times", () => {
    expect(dueFiring(hourly, undefined, at("2026-03-10T10:30:00Z"))).toEqual({
      missed: 0,
      next: at("2026-03-10T11:00:00Z"),
    });
    expect(dueFiring(hourly, at("2026-03-10T10:00:00Z"), at("2026-03-10T10:59:00Z")).fireAt).toBeUndefined();
    expect(dueFiring(hourly, at("2026-03-10T10:00:00Z"), at("2026-03-10T11:00:30Z"))).toMatchObject({
      fireAt: at("2026-03-10T11:00:00Z"),
      missed: 0,
    });
    // Down for three days: one firing (the latest), the others counted.
    const after = dueFiring(hourly, at("2026-03-10T10:00:00Z"), at("2026-03-13T10:30:00Z"));
    expect(after.fireAt).toBe(at("2026-03-13T10:00:00Z"));
    expect(after.missed).toBeGreaterThanOrEqual(1);
    expect(after.next).toBe(at("2026-03-13T11:00:00Z"));
  });

  it("stays fast for a minutely schedule after a long downtime", () => {
    const t0 = performance.now();
    const d = dueFiring(parseCron("* * * * *"), at("2026-01-01T00:00:00Z"), at("2026-03-01T00:00:30Z"));
    expect(d.fireAt).toBe(at("2026-03-01T00:00:00Z"));
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
