// The demo's closing report: one line per month of traffic, then where to look and what to try.

export interface MonthRow {
  readonly month: string;
  readonly requests: number;
  readonly failed: number;
  readonly rows: number;
  /** Versions that answered, oldest first, e.g. [1, 2] when v2 was swapped in during the month. */
  readonly served: readonly number[];
  readonly driftShare: number | null;
  /** "fired", "firing" (still, from an earlier window) or "-". */
  readonly alert: string;
  readonly auc: number | null;
  decision: string;
}

export function printTimeline(rows: readonly MonthRow[]): void {
  const header = [
    "month",
    "requests",
    "rows",
    "served by",
    "drift share",
    "alert",
    "AUC (late labels)",
    "decision",
  ];
  const cells = rows.map((r) => [
    r.month,
    String(r.requests),
    String(r.rows),
    r.served.map((v) => `v${v}`).join("→") || "-",
    r.driftShare === null ? "n/a" : r.driftShare.toFixed(2),
    r.alert,
    r.auc === null ? "n/a" : r.auc.toFixed(3),
    r.decision,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]): string =>
    c
      .map((v, i) =>
        i === c.length - 1
          ? v
          : i === 0 || i === 3 || i === 5
            ? v.padEnd(widths[i] ?? 0)
            : v.padStart(widths[i] ?? 0),
      )
      .join("  ");
  console.log(`\n${line(header)}`);
  for (const c of cells) console.log(line(c));
  const requests = rows.reduce((s, r) => s + r.requests, 0);
  const failed = rows.reduce((s, r) => s + r.failed, 0);
  const predictions = rows.reduce((s, r) => s + r.rows, 0);
  console.log(
    `\ntotal: ${requests} requests (${predictions} predictions) served over HTTP, errors = ${failed}`,
  );
}

export function printWhereToLook(
  workspace: string,
  bin: string,
  names: { model: string; monitor: string },
): void {
  const { model, monitor } = names;
  const commands: [string, string][] = [
    ["runs list", "every AutoML search and its trials, with params and metrics"],
    [`models show ${model}`, "versions, lineage, @production and its history"],
    [`monitor history ${monitor}`, "one window per month: rows, drift share, status"],
    [`audit log --model ${model}`, "the loop's decisions as a story"],
    ["audit verify", "the hash chain of every event"],
    ["up", "then open the dashboard: http://127.0.0.1:8080/"],
  ];
  const width = Math.max(...commands.map(([c]) => c.length));
  console.log(`
Where to look:
  cd ${workspace}
${commands.map(([c, why]) => `  ${bin} ${c.padEnd(width)}  # ${why}`).join("\n")}

Try it:
  edit loopml.yaml (in ${workspace}): e.g. the monitor's drift threshold (thresholds: { "*": 0.05 } → 0.1),
  or uncomment the canary under retrain.${model}.promote, then
  ${bin} plan    # shows exactly that change
  ${bin} apply   # applies it (an audit event); a second plan reports no changes`);
}
