// The closed loop's driver: follows "monitor.alert" audit events (from any process), windows that still alert
// after a retrain finished, and retrain schedules, and settles canaries. State (audit cursor, last schedule
// times) lives in the meta table, so restarts replay nothing.
import { createMonitorService } from "../monitoring/monitors.ts";
import { parseCron, dueFiring } from "../pipeline/cron.ts";
import type { Workspace } from "../workspace.ts";
import type { RetrainDecl } from "./desired-state.ts";
import type { Retrainer, RetrainOutcome } from "./retrain.ts";

export interface LoopTickResult {
  readonly retrains: readonly { model: string; outcome: RetrainOutcome }[];
  readonly canaries: readonly { model: string; status: string }[];
}

export interface LoopRunner {
  tick(): Promise<LoopTickResult>;
}

const CURSOR = "loop.retrain.cursor";
const lastKey = (model: string): string => `loop.retrain.${model}.schedule.last`;

/**
 * @example
 * const runner = createLoopRunner(ws, retrainer, desired.file.retrain ?? {});
 * setInterval(() => void runner.tick(), 5_000);
 */
export function createLoopRunner(
  ws: Workspace,
  retrainer: Retrainer,
  policies: Readonly<Record<string, RetrainDecl>>,
): LoopRunner {
  const monitors = createMonitorService(ws);
  const readMeta = async (key: string): Promise<string | undefined> =>
    (await ws.store.db.selectFrom("meta").select("value").where("key", "=", key).executeTakeFirst())?.value;
  const setMeta = (key: string, value: string): Promise<void> =>
    ws.store.transaction(async (tx) => {
      await tx
        .insertInto("meta")
        .values({ key, value })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value }))
        .execute();
    });

  async function alerts(): Promise<
    { model: string; policy: RetrainDecl; detail: Record<string, unknown> }[]
  > {
    const cursor = await readMeta(CURSOR);
    const headRow = await ws.store.db
      .selectFrom("audit_head")
      .select("seq")
      .where("id", "=", 1)
      .executeTakeFirst();
    const head = headRow?.seq ?? 0;
    if (cursor === undefined) {
      await setMeta(CURSOR, String(head));
      return [];
    }
    const events = (
      await ws.audit.list({ afterSeq: Number(cursor), targetPrefix: "monitor:", limit: 1000 })
    ).filter((e) => e.seq <= head && (e.action === "monitor.alert" || e.action === "monitor.run"));
    const due = new Map<string, { model: string; policy: RetrainDecl; detail: Record<string, unknown> }>();
    for (const e of events) {
      const monitor = e.target.replace(/^monitor:/, "");
      for (const [model, policy] of Object.entries(policies)) {
        if (due.has(model) || !(policy.on.monitors ?? []).includes(monitor)) continue;
        if (e.action === "monitor.alert") {
          due.set(model, { model, policy, detail: { monitor, event: e.seq, ...e.details } });
          continue;
        }
        // A window that still alerts after a retrain finished asks again: a retrain that did not help (or a new
        // model that drifts too) must not silence the loop for good; the cooldown and budget say how often.
        const still = await stillFiring(monitor, model);
        if (still)
          due.set(model, {
            model,
            policy,
            detail: { monitor, event: e.seq, window: e.details["seq"], ...still, stillFiring: true },
          });
      }
    }
    // Events up to the head read before listing are consumed; later ones wait for the next tick.
    await setMeta(CURSOR, String(head));
    return [...due.values()];
  }

  /** The first firing rule of `monitor`, if it fired before the model's last finished retrain. */
  async function stillFiring(
    monitor: string,
    model: string,
  ): Promise<{ rule: string; value: number | null } | undefined> {
    const firing = (await monitors.alerts(monitor)).filter((a) => a.state === "firing");
    const first = firing[0];
    if (!first) return undefined;
    const last = await ws.store.db
      .selectFrom("loop_retrains")
      .select((eb) => eb.fn.max("finished_at").as("at"))
      .where("model", "=", model)
      .where("status", "not in", ["running", "skipped"])
      .executeTakeFirst();
    const finished = last?.at === null || last?.at === undefined ? undefined : Number(last.at);
    const since = Math.min(...firing.map((a) => a.since ?? Infinity));
    return finished !== undefined && finished >= since
      ? { rule: first.rule, value: first.lastValue }
      : undefined;
  }

  async function schedules(): Promise<
    { model: string; policy: RetrainDecl; detail: Record<string, unknown> }[]
  > {
    const out: { model: string; policy: RetrainDecl; detail: Record<string, unknown> }[] = [];
    const now = ws.clock.now();
    for (const [model, policy] of Object.entries(policies)) {
      if (policy.on.schedule === undefined) continue;
      const cron = parseCron(policy.on.schedule, policy.on.timezone ?? "UTC");
      const last = await readMeta(lastKey(model));
      if (last === undefined) {
        await setMeta(lastKey(model), String(now));
        continue;
      }
      const d = dueFiring(cron, Number(last), now);
      if (d.fireAt === undefined) continue;
      await setMeta(lastKey(model), String(d.fireAt));
      out.push({
        model,
        policy,
        detail: { schedule: cron.source, scheduledAt: new Date(d.fireAt).toISOString() },
      });
    }
    return out;
  }

  return {
    async tick() {
      const retrains: { model: string; outcome: RetrainOutcome }[] = [];
      const byAlert = await alerts();
      const seen = new Set<string>();
      for (const { model, policy, detail } of byAlert) {
        seen.add(model);
        retrains.push({
          model,
          outcome: await retrainer.retrain(model, policy, { kind: "monitor", detail }),
        });
      }
      for (const { model, policy, detail } of await schedules()) {
        if (seen.has(model)) continue;
        retrains.push({
          model,
          outcome: await retrainer.retrain(model, policy, { kind: "schedule", detail }),
        });
      }
      return { retrains, canaries: await retrainer.settleCanaries() };
    },
  };
}
