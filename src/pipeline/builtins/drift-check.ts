// Built-in `drift-check`: the drift report (src/monitoring/drift-report.ts) of one dataset version against another.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import { readTable, tableDep } from "./frames.ts";
import type { BuiltinStep } from "./types.ts";

const schema = z
  .object({
    /** `dataset:NAME@VERSION|latest` or a CSV/Parquet path. */
    reference: z.string().min(1),
    current: z.string().min(1),
    columns: z.array(z.string()).optional(),
    /** Share of drifted columns at which the data counts as drifted (default 0.5). */
    shareThreshold: z.number().gt(0).lte(1).optional(),
    /** Fail the step when the data drifted, so that dependants (e.g. a deploy) stop. */
    failOnDrift: z.boolean().default(false),
  })
  .strict();

export type DriftCheckWith = z.input<typeof schema>;

export const driftCheckStep: BuiltinStep<z.output<typeof schema>> = {
  name: "drift-check",
  version: "1",
  description: "compare two dataset versions column by column; writes the drift report and its share",
  schema,
  io: (step, w) => ({
    deps: [
      tableDep(w.reference, `step "${step}" with.reference`),
      tableDep(w.current, `step "${step}" with.current`),
    ],
    outs: [`build/${step}/drift.json`],
    metrics: `build/${step}/drift-metrics.json`,
  }),
  run: async (ctx, w, io) => {
    const { buildDriftReport } = await import("../../monitoring/drift-report.ts");
    const reference = await readTable(ctx.workspace, ctx.cwd, w.reference);
    const current = await readTable(ctx.workspace, ctx.cwd, w.current);
    const report = buildDriftReport(reference, current, {
      ...(w.columns !== undefined && { columns: w.columns }),
      ...(w.shareThreshold !== undefined && { shareThreshold: w.shareThreshold }),
    });
    await writeFile(join(ctx.cwd, io.outs[0] as string), JSON.stringify(report));
    const d = report.dataset;
    await writeFile(
      join(ctx.cwd, io.metrics as string),
      JSON.stringify({ drift_share: d.share, drifted_columns: d.driftedColumns, drifted: d.drifted ? 1 : 0 }),
    );
    ctx.log(`${d.driftedColumns} of ${d.totalColumns} columns drifted (share ${d.share.toFixed(3)})`);
    if (w.failOnDrift && d.drifted)
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `Data drifted: ${d.driftedColumns} of ${d.totalColumns} columns (share ${d.share.toFixed(3)}).`,
      );
  },
};
