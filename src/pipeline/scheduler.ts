// The scheduler: fires cron schedules and audit-event triggers, never two runs of one pipeline at once.
import { LoopmlError } from "../errors.ts";
import { dueFiring } from "./cron.ts";
import { runPipeline, type ExecutorDeps, type PipelineRunResult } from "./executor.ts";
import type { Automation, TriggerSpec } from "./schedules.ts";
import type { PipelineSpec } from "./types.ts";

export interface Firing {
  readonly kind: "schedule" | "trigger";
  readonly name: string;
  readonly pipeline: string;
  readonly action: "fire" | "skip" | "queue";
  readonly cause: Readonly<Record<string, unknown>>;
}

export interface SchedulerOptions {
  readonly automation: Automation;
  readonly pipelines: ReadonlyMap<string, PipelineSpec>;
  readonly jobs?: number;
  readonly onFiring?: (f: Firing) => void;
  readonly onRunEnd?: (pipeline: string, result: PipelineRunResult | Error) => void;
}

export interface Scheduler {
  /** One pass: fires what is due now. Runs start in the background; `idle()` waits for them. */
  tick(): Promise<Firing[]>;
  idle(): Promise<void>;
}

const CURSOR_KEY = "pipeline.trigger.cursor";
const lastKey = (schedule: string): string => `pipeline.schedule.${schedule}.last`;

/**
 * State (each schedule's last handled time, the audit cursor of triggers) lives in the meta table, so a
 * restarted scheduler neither replays history nor storms through missed times.
 * @example
 * const s = createScheduler(pipelineDeps(ws), { automation, pipelines: loadPipelines(ws) });
 * setInterval(() => void s.tick(), 15_000);
 */
export function createScheduler(deps: ExecutorDeps, options: SchedulerOptions): Scheduler {
  const running = new Map<string, Promise<void>>();
  const queued = new Map<string, Record<string, unknown>>();
  const { schedules, triggers } = options.automation;
  const missingPipeline = [...schedules, ...triggers].find((s) => !options.pipelines.has(s.pipeline));
  if (missingPipeline)
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${missingPipeline.name}" runs pipeline "${missingPipeline.pipeline}", which loopml.yaml does not define.`,
    );

  const readMeta = async (key: string): Promise<string | undefined> =>
    (await deps.store.db.selectFrom("meta").select("value").where("key", "=", key).executeTakeFirst())?.value;

  const record = async (f: Firing, meta?: { key: string; value: string }): Promise<void> => {
    await deps.store.transaction(async (tx) => {
      if (meta) {
        await tx
          .insertInto("meta")
          .values(meta)
          .onConflict((oc) => oc.column("key").doUpdateSet({ value: meta.value }))
          .execute();
      }
      await deps.audit.append(tx, {
        actor: deps.actor,
        action: `pipeline.${f.kind}.${f.action}`,
        target: `pipeline:${f.pipeline}`,
        details: { [f.kind]: f.name, ...f.cause },
      });
    });
    options.onFiring?.(f);
  };

  const start = (pipeline: string): void => {
    const spec = options.pipelines.get(pipeline) as PipelineSpec;
    const p = runPipeline(deps, spec, { ...(options.jobs !== undefined && { jobs: options.jobs }) })
      .then(
        (r) => options.onRunEnd?.(pipeline, r),
        (e: unknown) => options.onRunEnd?.(pipeline, e instanceof Error ? e : new Error(String(e))),
      )
      .finally(() => {
        running.delete(pipeline);
        const cause = queued.get(pipeline);
        if (cause) {
          // A trigger that arrived mid-run gets exactly one follow-up run, so no new data is left unprocessed.
          queued.delete(pipeline);
          void record({
            kind: "trigger",
            name: String(cause["trigger"]),
            pipeline,
            action: "fire",
            cause,
          }).then(() => start(pipeline));
        }
      });
    running.set(pipeline, p);
  };

  const setMeta = async (key: string, value: string): Promise<void> => {
    await deps.store.transaction(async (tx) => {
      await tx
        .insertInto("meta")
        .values({ key, value })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value }))
        .execute();
    });
  };

  async function tick(): Promise<Firing[]> {
    const fired: Firing[] = [];
    const now = deps.clock.now();
    for (const s of schedules) {
      const lastText = await readMeta(lastKey(s.name));
      if (lastText === undefined) {
        await setMeta(lastKey(s.name), String(now));
        continue;
      }
      const due = dueFiring(s.cron, Number(lastText), now);
      if (due.fireAt === undefined) continue;
      const cause = {
        cron: s.cron.source,
        timezone: s.cron.timeZone,
        scheduledAt: new Date(due.fireAt).toISOString(),
        missed: due.missed,
      };
      const overlap = running.has(s.pipeline);
      const f: Firing = {
        kind: "schedule",
        name: s.name,
        pipeline: s.pipeline,
        action: overlap ? "skip" : "fire",
        cause: overlap ? { ...cause, reason: "a run of this pipeline is still going" } : cause,
      };
      await record(f, { key: lastKey(s.name), value: String(due.fireAt) });
      fired.push(f);
      if (!overlap) start(s.pipeline);
    }
    if (triggers.length > 0) fired.push(...(await checkTriggers()));
    return fired;
  }

  async function checkTriggers(): Promise<Firing[]> {
    const cursorText = await readMeta(CURSOR_KEY);
    if (cursorText === undefined) {
      // First start: history is not replayed; only events from now on fire triggers.
      const head = await deps.store.db
        .selectFrom("audit_head")
        .select("seq")
        .where("id", "=", 1)
        .executeTakeFirst();
      await setMeta(CURSOR_KEY, String(head?.seq ?? 0));
      return [];
    }
    const events = await deps.audit.list({ afterSeq: Number(cursorText), limit: 1000 });
    if (events.length === 0) return [];
    const fired: Firing[] = [];
    const firedPipelines = new Set<string>();
    for (const t of triggers) {
      const e = events.find((ev) => matches(t, ev.action, ev.target));
      if (!e || firedPipelines.has(t.pipeline)) continue;
      firedPipelines.add(t.pipeline);
      const cause = { trigger: t.name, event: e.seq, eventAction: e.action, eventTarget: e.target };
      const busy = running.has(t.pipeline);
      const f: Firing = {
        kind: "trigger",
        name: t.name,
        pipeline: t.pipeline,
        action: busy ? "queue" : "fire",
        cause,
      };
      await record(f);
      fired.push(f);
      if (busy) queued.set(t.pipeline, cause);
      else start(t.pipeline);
    }
    await setMeta(CURSOR_KEY, String(events[events.length - 1]?.seq ?? cursorText));
    return fired;
  }

  return {
    tick,
    idle: async () => {
      while (running.size > 0) await Promise.all(running.values());
    },
  };
}

function matches(t: TriggerSpec, action: string, target: string): boolean {
  if (action !== t.action) return false;
  const p = t.targetPrefix;
  return p === undefined || target === p || target.startsWith(`${p}@`) || target.startsWith(`${p}/`);
}
