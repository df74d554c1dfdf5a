// Cron expressions in a time zone (pure): parsing with errors that name the field, and the next firing time.
import { LoopmlError } from "../errors.ts";

export interface CronSchedule {
  readonly source: string;
  readonly timeZone: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
  /** Cron's rule: when both day-of-month and day-of-week are restricted, either may match. */
  readonly dayOr: boolean;
}

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS = [
  { name: "minute", min: 0, max: 59, names: undefined },
  { name: "hour", min: 0, max: 23, names: undefined },
  { name: "day of month", min: 1, max: 31, names: undefined },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 7, names: WEEKDAYS },
] as const;
/** How far ahead to look before concluding an expression never fires (e.g. "0 0 31 2 *"). */
const SEARCH_DAYS = 366 * 5;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * @example
 * const nightly = parseCron("30 2 * * mon-fri", "Europe/Paris");
 * new Date(nextFireTime(nightly, Date.now())).toISOString();
 */
export function parseCron(expression: string, timeZone = "UTC"): CronSchedule {
  assertTimeZone(timeZone);
  const expanded = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Cron "${expression}" has ${parts.length} fields; it needs 5 (minute hour day-of-month month day-of-week), e.g. "30 2 * * *", or a macro such as @daily.`,
    );
  const sets = parts.map((p, i) => parseField(p, FIELDS[i] as (typeof FIELDS)[number], expression));
  const [minutes, hours, days, months, weekdaysRaw] = sets as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  const weekdays = new Set(weekdaysRaw.map((d) => d % 7));
  return {
    source: expression,
    timeZone,
    minutes,
    hours,
    days: new Set(days),
    months: new Set(months),
    weekdays,
    dayOr: parts[2] !== "*" && parts[4] !== "*",
  };
}

function parseField(text: string, f: (typeof FIELDS)[number], expression: string): number[] {
  const bad = (why: string): never => {
    throw new LoopmlError("INVALID_ARGUMENT", `Cron "${expression}": ${f.name} "${text}" ${why}.`);
  };
  const value = (s: string): number => {
    const named = f.names?.indexOf(s.toLowerCase()) ?? -1;
    const n = named >= 0 ? named + (f.name === "month" ? 1 : 0) : /^\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(n)) bad(`is not a number${f.names ? " or name" : ""}`);
    if (n < f.min || n > f.max) bad(`is outside ${f.min}-${f.max}`);
    return n;
  };
  const out = new Set<number>();
  for (const item of text.split(",")) {
    const [rangeText, stepText] = item.split("/");
    const range = rangeText ?? "";
    if (range === "") bad("has an empty list item");
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : 0;
    if (step < 1) bad("has a step that is not a whole number ≥ 1");
    let lo: number;
    let hi: number;
    if (range === "*") [lo, hi] = [f.min, f.name === "day of week" ? 6 : f.max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-");
      lo = value(a ?? "");
      hi = value(b ?? "");
      if (hi < lo) bad("is a range that runs backwards");
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : f.name === "day of week" ? 6 : f.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The first firing strictly after `afterMs`, in UTC milliseconds. Wall-clock times are read in the
 * schedule's time zone: a time skipped by a DST jump fires right after the jump, a time that occurs
 * twice fires once (at its first occurrence).
 */
export function nextFireTime(s: CronSchedule, afterMs: number): number {
  const start = wallClock(afterMs, s.timeZone);
  // Wall times more than an hour (the largest DST shift in use) before the start cannot come after it.
  const startMinute = start.hour * 60 + start.minute - 60;
  let { year, month, day } = start;
  for (let i = 0; i < SEARCH_DAYS; i++) {
    if (dayMatches(s, year, month, day)) {
      const midnight = Date.UTC(year, month - 1, day);
      // The offsets a day either side bracket any DST change on this day; equal offsets mean none.
      const offsets = [
        ...new Set([offsetAt(midnight - DAY, s.timeZone), offsetAt(midnight + 2 * DAY, s.timeZone)]),
      ];
      for (const hour of s.hours) {
        for (const minute of s.minutes) {
          if (i === 0 && hour * 60 + minute < startMinute) continue;
          const t = wallToUtc({ year, month, day, hour, minute }, s.timeZone, offsets);
          if (t > afterMs) return t;
        }
      }
    }
    const next = new Date(Date.UTC(year, month - 1, day + 1));
    year = next.getUTCFullYear();
    month = next.getUTCMonth() + 1;
    day = next.getUTCDate();
  }
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `Cron "${s.source}" never fires (no matching date in five years).`,
  );
}

function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  if (!s.months.has(month)) return false;
  const dom = s.days.has(day);
  const dow = s.weekdays.has(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  return s.dayOr ? dom || dow : dom && dow;
}

interface Wall {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(utcMs: number, timeZone: string): Wall {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(utcMs)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return {
    year: parts["year"] ?? 1970,
    month: parts["month"] ?? 1,
    day: parts["day"] ?? 1,
    hour: parts["hour"] ?? 0,
    minute: parts["minute"] ?? 0,
  };
}

/** UTC minus wall clock at an instant, in ms (positive west of Greenwich). */
function offsetAt(utcMs: number, timeZone: string): number {
  const w = wallClock(utcMs, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(utcMs / 60_000) * 60_000;
}

function wallToUtc(w: Wall, timeZone: string, offsets: readonly number[]): number {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  if (offsets.length === 1) return naive - (offsets[0] ?? 0);
  const valid = offsets
    .map((o) => naive - o)
    .filter((t) => {
      const back = wallClock(t, timeZone);
      return back.hour === w.hour && back.minute === w.minute && back.day === w.day;
    })
    .sort((a, b) => a - b);
  if (valid[0] !== undefined) return valid[0];
  // In a DST gap: keep the offset from before the jump, which lands just after it.
  return naive - (offsets[0] ?? 0);
}

function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${timeZone}" is not a time zone. Use an IANA name such as UTC, Europe/Paris or America/New_York.`,
    );
  }
}

export interface DueFiring {
  /** The scheduled time to run now, if any. */
  readonly fireAt?: number;
  /** Scheduled times that passed while nothing ran and are dropped (no catch-up storm); a lower bound after long downtime. */
  readonly missed: number;
  /** The next scheduled time after now. */
  readonly next: number;
}

/**
 * What a scheduler should do at `now`, given the last scheduled time it handled. After downtime only
 * the most recent missed time fires; the others are counted, not replayed. A schedule seen for the
 * first time starts from now rather than from the past.
 */
export function dueFiring(s: CronSchedule, lastHandled: number | undefined, now: number): DueFiring {
  const next = nextFireTime(s, now);
  if (lastHandled === undefined || nextFireTime(s, lastHandled) > now) return { missed: 0, next };
  // Walk forward from the narrowest window that still holds a due time, so a minutely schedule after
  // a week of downtime costs a few dozen steps, not ten thousand.
  for (const span of [HOUR, DAY, 32 * DAY, 367 * DAY, Infinity]) {
    const from = Math.max(lastHandled, now - span);
    let t = nextFireTime(s, from);
    if (t > now) continue;
    let missed = 0;
    for (let n = nextFireTime(s, t); n <= now; n = nextFireTime(s, n)) {
      t = n;
      missed++;
    }
    // Times between the last handled one and the window were missed too: count at least one of them.
    const earlier = from > lastHandled && nextFireTime(s, lastHandled) <= from ? 1 : 0;
    return { fireAt: t, missed: missed + earlier, next };
  }
  return { missed: 0, next };
}
