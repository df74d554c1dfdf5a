// Reading runs back with their params, tags, metric summaries and inputs: a fixed number of queries per page.
import type { Kysely } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database } from "../store/types.ts";
import { chunks } from "./batch.ts";
import { runInfoFromRow, summaryFromRow } from "./rows.ts";
import type { DatasetInput, MetricSummary, Run } from "./types.ts";

export async function requireRun(db: Kysely<Database>, id: string): Promise<Database["runs"]> {
  const row = await db.selectFrom("runs").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) {
    throw new LoopmlError(
      "NOT_FOUND",
      `Run "${id}" does not exist. Find runs with loopml runs list or loopml runs search.`,
      {
        runId: id,
      },
    );
  }
  return row;
}

/** The runs with these ids, in the order given (missing ids are skipped). */
export async function loadRuns(db: Kysely<Database>, ids: readonly string[]): Promise<Run[]> {
  if (ids.length === 0) return [];
  const runRows: Database["runs"][] = [];
  const params = new Map<string, Record<string, string>>();
  const tags = new Map<string, Record<string, string>>();
  const metrics = new Map<string, Record<string, MetricSummary>>();
  const inputs = new Map<string, DatasetInput[]>();
  const into = <V>(m: Map<string, V>, id: string, empty: () => V): V => {
    let v = m.get(id);
    if (v === undefined) m.set(id, (v = empty()));
    return v;
  };
  for (const part of chunks(ids, 500)) {
    runRows.push(...(await db.selectFrom("runs").selectAll().where("id", "in", part).execute()));
    for (const r of await db.selectFrom("run_params").selectAll().where("run_id", "in", part).execute()) {
      into(params, r.run_id, (): Record<string, string> => ({}))[r.key] = r.value;
    }
    for (const r of await db.selectFrom("run_tags").selectAll().where("run_id", "in", part).execute()) {
      into(tags, r.run_id, (): Record<string, string> => ({}))[r.key] = r.value;
    }
    for (const r of await db
      .selectFrom("run_metric_summaries")
      .selectAll()
      .where("run_id", "in", part)
      .execute()) {
      into(metrics, r.run_id, (): Record<string, MetricSummary> => ({}))[r.key] = summaryFromRow(r);
    }
    for (const r of await db.selectFrom("run_inputs").selectAll().where("run_id", "in", part).execute()) {
      into(inputs, r.run_id, () => []).push({ dataset: r.dataset, version: r.version, context: r.context });
    }
  }
  const byId = new Map(runRows.map((r) => [r.id, r]));
  const out: Run[] = [];
  for (const id of ids) {
    const row = byId.get(id);
    if (!row) continue;
    out.push({
      info: runInfoFromRow(row),
      params: params.get(id) ?? {},
      tags: tags.get(id) ?? {},
      metrics: metrics.get(id) ?? {},
      inputs: inputs.get(id) ?? [],
    });
  }
  return out;
}
