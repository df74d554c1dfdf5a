// Late labels: ground truth keyed by the prediction's request id, stored whenever it arrives, joined by monitors.
import { LoopmlError } from "../errors.ts";
import { readInferenceLog } from "../serving/inference-log.ts";
import type { Workspace } from "../workspace.ts";

export interface FeedbackLabel {
  readonly requestId: string;
  /** A number (class index or value) or a class label. */
  readonly label: string | number;
}

export interface FeedbackInput {
  readonly model: string;
  readonly labels: readonly FeedbackLabel[];
  /** How far back the inference log is searched for the request ids (default 30 days). */
  readonly lookbackMs?: number;
  readonly actor?: string;
}

export interface FeedbackResult {
  readonly model: string;
  /** Labels stored (a label for an id already labelled replaces it). */
  readonly accepted: number;
  readonly replaced: number;
  /** Labels whose request id the model's inference log does not have (stored, counted, reported). */
  readonly unknown: number;
  /** Up to 20 of them, to look into. */
  readonly unknownIds: readonly string[];
}

export const DEFAULT_LOOKBACK_MS = 30 * 24 * 3600 * 1000;
const MAX_BATCH = 100_000;

/**
 * @example
 * await recordFeedback(ws, { model: "churn", labels: [{ requestId: "r-17", label: 1 }] });
 */
export async function recordFeedback(ws: Workspace, input: FeedbackInput): Promise<FeedbackResult> {
  const labels = validate(input);
  const now = ws.clock.now();
  const log = await readInferenceLog(ws, {
    model: input.model,
    since: now - (input.lookbackMs ?? DEFAULT_LOOKBACK_MS),
  });
  const logged = new Set(log.requestIds);
  const unknownIds = labels.filter((l) => !logged.has(l.requestId)).map((l) => l.requestId);
  const unknownSet = new Set(unknownIds);
  const replaced = await ws.store.transaction(async (tx) => {
    let existing = 0;
    for (let i = 0; i < labels.length; i += 500) {
      const part = labels.slice(i, i + 500);
      const ids = part.map((l) => l.requestId);
      const found = await tx
        .selectFrom("monitor_feedback")
        .select("request_id")
        .where("model", "=", input.model)
        .where("request_id", "in", ids)
        .execute();
      existing += found.length;
      if (found.length > 0) {
        await tx
          .deleteFrom("monitor_feedback")
          .where("model", "=", input.model)
          .where(
            "request_id",
            "in",
            found.map((f) => f.request_id),
          )
          .execute();
      }
      await tx
        .insertInto("monitor_feedback")
        .values(
          part.map((l) => ({
            request_id: l.requestId,
            model: input.model,
            label: String(l.label),
            received_at: now,
            known: unknownSet.has(l.requestId) ? 0 : 1,
          })),
        )
        .execute();
    }
    await ws.audit.append(tx, {
      actor: input.actor ?? ws.config.actor,
      action: "monitor.feedback",
      target: `model:${input.model}`,
      details: { labels: labels.length, replaced: existing, unknown: unknownIds.length },
    });
    return existing;
  });
  return {
    model: input.model,
    accepted: labels.length,
    replaced,
    unknown: unknownIds.length,
    unknownIds: unknownIds.slice(0, 20),
  };
}

function validate(input: FeedbackInput): FeedbackLabel[] {
  if (typeof input.model !== "string" || input.model.trim() === "") {
    throw new LoopmlError("INVALID_ARGUMENT", "Feedback needs the model name the predictions came from.");
  }
  const list: readonly unknown[] = Array.isArray(input.labels) ? (input.labels as readonly unknown[]) : [];
  if (list.length === 0) {
    throw new LoopmlError("INVALID_ARGUMENT", "Feedback needs at least one { requestId, label }.");
  }
  if (list.length > MAX_BATCH) {
    throw new LoopmlError("INVALID_ARGUMENT", `At most ${MAX_BATCH} labels per call; split the file.`);
  }
  // The last label for an id wins, as it would across two calls.
  const byId = new Map<string, FeedbackLabel>();
  list.forEach((raw, i) => {
    const l = (raw ?? {}) as { requestId?: unknown; label?: unknown };
    if (typeof l.requestId !== "string" || l.requestId === "" || l.requestId.length > 200) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label ${i + 1} has no request id (a string of 1–200 characters).`,
      );
    }
    const ok =
      (typeof l.label === "number" && Number.isFinite(l.label)) ||
      (typeof l.label === "string" && l.label !== "" && l.label.length <= 200);
    if (!ok) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Label ${i + 1} (request ${l.requestId}) must be a finite number or a non-empty class name.`,
      );
    }
    byId.set(l.requestId, { requestId: l.requestId, label: l.label as string | number });
  });
  return [...byId.values()];
}

/**
 * Labels stored for these request ids of a model, as text. Labels arrive after their predictions, so only
 * those received since the window's first prediction are read (one query, joined in memory).
 */
export async function labelsFor(
  ws: Workspace,
  model: string,
  requestIds: readonly string[],
  since: number,
): Promise<Map<string, string>> {
  const wanted = new Set(requestIds);
  const out = new Map<string, string>();
  const rows = await ws.store.db
    .selectFrom("monitor_feedback")
    .select(["request_id", "label"])
    .where("model", "=", model)
    .where("received_at", ">=", since)
    .execute();
  for (const r of rows) if (wanted.has(r.request_id)) out.set(r.request_id, r.label);
  return out;
}

/** Labels of a model whose request id was not in its inference log, received in [since, until). */
export async function unknownLabelCount(
  ws: Workspace,
  model: string,
  since: number,
  until: number,
): Promise<number> {
  const row = await ws.store.db
    .selectFrom("monitor_feedback")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("model", "=", model)
    .where("known", "=", 0)
    .where("received_at", ">=", since)
    .where("received_at", "<", until)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
