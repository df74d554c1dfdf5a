// A progress line for long work (done/total, rate, ETA) on stderr, drawn only when stderr is a terminal.

export interface Progress {
  update(done: number): void;
  finish(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** "bytes" formats amounts as KiB/MiB/GiB. */
  readonly unit?: "bytes" | "items";
  readonly stream?: NodeJS.WriteStream;
  readonly now?: () => number;
}

const REDRAW_MS = 100;

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const enabled = stream.isTTY === true;
  const start = now();
  let lastDraw = 0;
  let done = 0;
  const fmt = (n: number): string => (options.unit === "bytes" ? formatBytes(n) : String(Math.round(n)));
  const draw = (): void => {
    const elapsed = (now() - start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const pct = options.total > 0 ? Math.min(100, (100 * done) / options.total) : 100;
    const eta = rate > 0 ? (options.total - done) / rate : Infinity;
    const text = `${options.label} ${pct.toFixed(0).padStart(3)}% ${fmt(done)}/${fmt(options.total)} ${fmt(rate)}/s ETA ${formatSeconds(eta)}`;
    stream.write(`\r${text.padEnd(stream.columns ? Math.min(stream.columns - 1, 100) : 80)}`);
  };
  return {
    update(value) {
      done = value;
      if (!enabled) return;
      const t = now();
      if (t - lastDraw >= REDRAW_MS) {
        lastDraw = t;
        draw();
      }
    },
    finish() {
      if (!enabled) return;
      done = options.total;
      draw();
      stream.write("\n");
    },
  };
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i] ?? "B"}`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "--";
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
