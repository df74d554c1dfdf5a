// Injectable time and id sources, so tests never sleep and never depend on randomness.
import { randomBytes } from "node:crypto";

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export function createManualClock(
  start = Date.UTC(2026, 0, 1),
): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

export interface IdGenerator {
  /** A new unique id: 32 lowercase hex characters. */
  next(): string;
}

export const randomIds: IdGenerator = { next: () => randomBytes(16).toString("hex") };

/** Deterministic ids for tests: prefix-free counters padded to 32 hex characters. */
export function createSequentialIds(seed = 0): IdGenerator {
  let n = seed;
  return { next: () => (++n).toString(16).padStart(32, "0") };
}
