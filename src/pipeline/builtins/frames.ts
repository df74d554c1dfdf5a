// Tables for built-in steps: a dataset version (NAME@VERSION|latest) or a CSV/Parquet file in the project, as a Frame.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoopmlError } from "../../errors.ts";
import type { Frame } from "../../learn/frame.ts";
import type { Workspace } from "../../workspace.ts";
import { parseDatasetDep } from "../parse.ts";
import type { DepRef } from "../types.ts";

/** A table input: `dataset:NAME@VERSION|latest`, or a path to a CSV/Parquet file (possibly another step's output). */
export function tableDep(ref: string, what: string): DepRef {
  if (ref.startsWith("dataset:"))
    return parseDatasetDep(ref, (m) => {
      throw new LoopmlError("INVALID_ARGUMENT", `${what}: ${m}`);
    });
  return { kind: "path", path: ref };
}

export async function readTable(ws: Workspace, cwd: string, ref: string): Promise<Frame> {
  const { readFrame } = await import("../../data/read-frame.ts");
  if (!ref.startsWith("dataset:")) return (await readFrame(join(cwd, ref))).frame;
  const name = ref.slice("dataset:".length).split("@")[0] as string;
  const { createDataService } = await import("../../data/service.ts");
  const scratch = await mkdtemp(join(tmpdir(), "loopml-step-"));
  try {
    const file = join(scratch, "table.parquet");
    await createDataService(ws).query(`SELECT * FROM "${name.replace(/"/g, '""')}"`, {
      at: [ref.slice("dataset:".length)],
      toParquet: file,
    });
    return (await readFrame(file)).frame;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
