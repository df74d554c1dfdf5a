// How the CLI prints: human text by default, one JSON document with --json, errors on stderr.
import { isLoopmlError, toLoopmlError } from "../errors.ts";

export function emit(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : ensureNewline(human()));
}

export function reportError(e: unknown, json: boolean): void {
  const err = toLoopmlError(e);
  if (json) process.stderr.write(`${JSON.stringify({ error: err.toJSON() })}\n`);
  else
    process.stderr.write(
      `error: ${err.message}${err.code === "INTERNAL" && err.cause instanceof Error && err.cause.stack ? `\n${err.cause.stack}` : ""}\n`,
    );
}

/** 2 for bad input (like a usage error), 1 for everything else. */
export function exitCodeFor(e: unknown): number {
  return isLoopmlError(e, "INVALID_ARGUMENT") ? 2 : 1;
}

function ensureNewline(s: string): string {
  return s.endsWith("\n") || s === "" ? s : `${s}\n`;
}

/** A plain-text table with left-aligned columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
