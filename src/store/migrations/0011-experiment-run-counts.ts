// Per-experiment counts of active runs, kept by triggers on runs, so counting an experiment's runs reads one row.
import { PostgresAdapter, sql, type Kysely } from "kysely";

/**
 * Counting 100,000 runs scanned them (PostgreSQL chose a sequential scan, 135–200 ms at load 15;
 * SQLite walked the index, 14 ms CPU). Triggers keep the count exact whatever writes the runs
 * table (the service, an import, a bulk load): a run counts while its lifecycle stage is "active".
 * The count row is written by every run insert of its experiment; run inserts already serialise on
 * the audit chain's head, so this adds no new contention.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("experiment_run_counts")
    .addColumn("experiment_id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("active_runs", "integer", (c) => c.notNull())
    .execute();
  await sql`insert into experiment_run_counts (experiment_id, active_runs)
    select experiment_id, count(*) from runs where lifecycle_stage = 'active' group by experiment_id`.execute(
    db,
  );
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  for (const statement of postgres ? POSTGRES : SQLITE) await sql.raw(statement).execute(db);
}

const ADD = (run: "new") =>
  `insert into experiment_run_counts (experiment_id, active_runs) select ${run}.experiment_id, 1
    where ${run}.lifecycle_stage = 'active'
    on conflict (experiment_id) do update set active_runs = experiment_run_counts.active_runs + 1`;
const REMOVE = (run: "old") =>
  `update experiment_run_counts set active_runs = active_runs - 1
    where experiment_id = ${run}.experiment_id and ${run}.lifecycle_stage = 'active'`;

const SQLITE = [
  `create trigger runs_count_insert after insert on runs begin ${ADD("new")}; end`,
  `create trigger runs_count_delete after delete on runs begin ${REMOVE("old")}; end`,
  `create trigger runs_count_update after update of experiment_id, lifecycle_stage on runs
    begin ${REMOVE("old")}; ${ADD("new")}; end`,
];

const POSTGRES = [
  `create function loopml_count_runs() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'INSERT' then ${REMOVE("old")}; end if;
      if tg_op <> 'DELETE' then ${ADD("new")}; end if;
      return null;
    end $$`,
  `create trigger runs_count after insert or delete or update of experiment_id, lifecycle_stage on runs
    for each row execute function loopml_count_runs()`,
];
