// Reads the newest window of a dataset's latest version as a frame, oldest row first.
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFrame } from "../data/read-frame.ts";
import { createDataService } from "../data/service.ts";
import { LoopmlError } from "../errors.ts";
import { getColumn, takeRows, type Frame } from "../learn/frame.ts";
import type { Workspace } from "../workspace.ts";

export interface DataWindow {
  readonly rows?: number;
  readonly spanMs?: number;
  readonly timeColumn?: string;
}

export interface WindowFrame {
  readonly frame: Frame;
  /** NAME@SEQ of the version read. */
  readonly version: string;
  readonly totalRows: number;
}

/**
 * @example
 * const { frame, version } = await readWindow(ws, "flights", { rows: 20_000, timeColumn: "date" });
 */
export async function readWindow(ws: Workspace, dataset: string, w: DataWindow): Promise<WindowFrame> {
  const data = createDataService(ws);
  const latest = await data.resolve(`${dataset}@latest`);
  const version = `${dataset}@${latest.seq}`;
  const file = join(tmpdir(), `loopml-window-${ws.ids.next()}.parquet`);
  try {
    await data.query(`SELECT * FROM "${dataset.replace(/"/g, '""')}"`, { at: [version], toParquet: file });
    const order = w.timeColumn === undefined ? undefined : `"${w.timeColumn.replace(/"/g, '""')}"`;
    const { frame } = await readFrame(file, { ...(order !== undefined && { orderBy: order }) });
    return { frame: newest(frame, w), version, totalRows: frame.nRows };
  } finally {
    await rm(file, { force: true });
  }
}

function newest(frame: Frame, w: DataWindow): Frame {
  let start = 0;
  if (w.spanMs !== undefined) {
    if (w.timeColumn === undefined)
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        "A data window with span: needs timeColumn: to know the time.",
      );
    const col = getColumn(frame, w.timeColumn);
    if (col.kind !== "numeric")
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `timeColumn "${w.timeColumn}" must be a date, time or number.`,
      );
    const last = col.values[frame.nRows - 1] ?? 0;
    while (start < frame.nRows && (col.values[start] as number) < last - w.spanMs) start++;
  }
  if (w.rows !== undefined) start = Math.max(start, frame.nRows - w.rows);
  if (start === 0) return frame;
  return takeRows(
    frame,
    Uint32Array.from({ length: frame.nRows - start }, (_, i) => start + i),
  );
}
