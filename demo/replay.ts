// Replays a month of flights through the real prediction endpoint in time order, on an accelerated clock, and
// posts each flight's actual delay to /v1/feedback once it has landed (late labels).
import type { MonthOfFlights } from "./flights.ts";

export interface ReplayTarget {
  /** Base URL of `loopml up`, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly deployment: string;
  readonly model: string;
  /** The feature columns the served model takes (its signature), in order. */
  readonly inputs: readonly string[];
  /** Moves the workspace clock: the inference log and the monitors see the flights' own dates. */
  readonly setTime: (ms: number) => void;
  /** Writes buffered predictions, so the feedback endpoint finds their request ids. */
  readonly flushLog: () => Promise<void>;
}

export interface ReplayResult {
  readonly requests: number;
  readonly failed: number;
  readonly rows: number;
  readonly labels: number;
  /** Answers per model version, e.g. { "1": 120, "2": 40 }. */
  readonly versions: Readonly<Record<string, number>>;
  readonly firstError?: string;
}

const BATCH_ROWS = 400;
const CONCURRENCY = 4;
/** A flight's delay is known about a day after departure; labels are posted in bundles of this many. */
const LABEL_DELAY_MS = 86_400_000;
const LABEL_BUNDLE = 5_000;

/**
 * @example
 * const r = await replayMonth(target, await readMonth(2, 6), "2001-02");
 */
export async function replayMonth(
  t: ReplayTarget,
  month: MonthOfFlights,
  tag: string,
): Promise<ReplayResult> {
  let requests = 0;
  let failed = 0;
  let firstError: string | undefined;
  const versions: Record<string, number> = {};
  /** Answered batches waiting for their flights to land: [request id, first row, end row]. */
  const unlabelled: [string, number, number][] = [];
  let labels = 0;

  const postLabels = async (upTo: number): Promise<void> => {
    const ready = unlabelled.filter(([, , end]) => (month.time[end - 1] ?? 0) + LABEL_DELAY_MS <= upTo);
    if (ready.length === 0) return;
    await t.flushLog();
    const body: { request_id: string; label: number }[] = [];
    for (const [id, start, end] of ready)
      for (let i = start; i < end; i++)
        body.push({ request_id: `${id}:${i - start}`, label: month.late[i] ?? 0 });
    for (let i = 0; i < body.length; i += 20_000) {
      const res = await fetch(`${t.url}/v1/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: t.model, labels: body.slice(i, i + 20_000) }),
      });
      if (!res.ok) throw new Error(`POST /v1/feedback answered ${res.status}: ${await res.text()}`);
    }
    labels += body.length;
    const done = new Set(ready);
    const keep = unlabelled.filter((b) => !done.has(b));
    unlabelled.length = 0;
    unlabelled.push(...keep);
  };

  const send = async (start: number, end: number, id: string): Promise<void> => {
    const inputs: Record<string, (number | string)[]> = {};
    for (const name of t.inputs) {
      const numbers = month.numbers[name as keyof MonthOfFlights["numbers"]] as Float64Array | undefined;
      const strings = month.strings[name as keyof MonthOfFlights["strings"]] as string[] | undefined;
      if (numbers) inputs[name] = Array.from(numbers.subarray(start, end));
      else if (strings) inputs[name] = strings.slice(start, end);
      else throw new Error(`The served model takes "${name}", which the flights replay does not have.`);
    }
    requests++;
    try {
      const res = await fetch(`${t.url}/v1/models/${t.deployment}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": id },
        body: JSON.stringify({ inputs }),
      });
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      const answer = (await res.json()) as { model_version: string };
      versions[answer.model_version] = (versions[answer.model_version] ?? 0) + 1;
      unlabelled.push([id, start, end]);
    } catch (e) {
      failed++;
      // fetch reports network failures as "fetch failed" with the reason in `cause`.
      const cause = (e as Error).cause as { code?: string; message?: string } | undefined;
      firstError ??= `${(e as Error).message}${cause ? ` (${cause.code ?? cause.message ?? ""})` : ""}`;
    }
  };

  const inFlight = new Set<Promise<void>>();
  let pendingLabels = 0;
  for (let start = 0, b = 0; start < month.rows; start += BATCH_ROWS, b++) {
    const end = Math.min(month.rows, start + BATCH_ROWS);
    // The clock follows the traffic: this batch is sent when its last flight departs.
    const now = month.time[end - 1] ?? 0;
    t.setTime(now);
    const p = send(start, end, `${tag}-${String(b).padStart(5, "0")}`).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
    pendingLabels += end - start;
    if (pendingLabels >= LABEL_BUNDLE) {
      await postLabels(now);
      pendingLabels = 0;
    }
  }
  await Promise.all(inFlight);
  // The month is over: the last flights land and their labels arrive too.
  await postLabels(Infinity);
  return {
    requests,
    failed,
    rows: month.rows,
    labels,
    versions,
    ...(firstError !== undefined && { firstError }),
  };
}
