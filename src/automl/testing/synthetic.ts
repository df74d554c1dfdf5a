// Small seeded synthetic tables for AutoML tests: fast to fit, with a known signal.
import { frameFromColumns, type Frame } from "../../learn/frame.ts";
import { createRng } from "../../learn/random.ts";

export interface SyntheticOptions {
  readonly rows: number;
  readonly task: "binary" | "multiclass" | "regression";
  readonly seed?: number;
  /** Adds an id, a constant, a copy of the target and a time column. */
  readonly junk?: boolean;
}

/**
 * Three informative numeric features, one noise feature and a categorical one.
 *
 * @example
 * const frame = syntheticFrame({ rows: 300, task: "binary" });
 */
export function syntheticFrame(options: SyntheticOptions): Frame {
  const rng = createRng(options.seed ?? 7);
  const n = options.rows;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  const noise = new Float64Array(n);
  const color: string[] = [];
  const target: (number | string)[] = [];
  for (let i = 0; i < n; i++) {
    a[i] = rng.next() * 4 - 2;
    b[i] = rng.next() * 4 - 2;
    c[i] = rng.next();
    noise[i] = rng.next();
    const col = ["red", "green", "blue"][rng.int(3)] as string;
    color.push(col);
    const signal =
      (a[i] as number) +
      0.8 * (b[i] as number) ** 2 -
      1.5 +
      (col === "red" ? 1 : 0) +
      (rng.next() - 0.5) * 1.5;
    if (options.task === "regression") target.push(signal * 10 + (c[i] as number));
    else if (options.task === "binary") target.push(signal > 0 ? "yes" : "no");
    else target.push(signal < -1 ? "low" : signal < 1 ? "mid" : "high");
  }
  const columns: Record<string, Float64Array | string[] | number[]> = { a, b, c, noise, color };
  columns.target = target as string[] | number[];
  if (options.junk) {
    columns.id = Array.from({ length: n }, (_, i) => 1000 + i);
    columns.constant = Array.from({ length: n }, () => 3);
    columns.leak = target.map((t) => (typeof t === "string" ? `is-${t}` : t)) as string[] | number[];
    columns.day = Array.from(
      { length: n },
      (_, i) => `2024-01-${String((i % 28) + 1).padStart(2, "0")}T${String(i % 24).padStart(2, "0")}`,
    );
  }
  return frameFromColumns(columns);
}
