// The dashboard in a real browser (Debian's Chromium via playwright-core) against a seeded server with auth:
// every page loads without console errors, a filter narrows the runs table, the comparison chart renders,
// promotion through the UI moves the alias and is audited, a viewer sees no promote button; screenshots.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildUi } from "../../src/ui/build.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { launchChromium } from "../setup/chromium.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { seedDashboard, serveTraffic, startDashboardServer } from "./ui-seed.ts";

const SHOTS = join(process.cwd(), "test-results", "ui");
const tmp = makeTempDir();
let ws: Workspace;
let server: Awaited<ReturnType<typeof startDashboardServer>> | undefined;
let pipelineRuns: string[] = [];
let url = "";
let browser: Browser;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ws = await openWorkspace({
    dir: tmp.path,
    store: "sqlite:.loopml/loopml.db",
    artifacts: `file:${join(tmp.path, "objects")}`,
    actor: "local:test",
  });
  const [seeded] = await Promise.all([seedDashboard(ws), buildUi()]);
  Object.assign(tokens, seeded.tokens);
  pipelineRuns = seeded.pipelineRuns;
  server = await startDashboardServer(ws);
  url = server.url;
  await serveTraffic(url, 60, 3);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await ws?.close();
  tmp.remove();
});

/** A page signed in with `role`'s token, collecting console errors and failed requests to other origins. */
async function open(
  role: string,
  signIn: "form" | "stored" = "stored",
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // A token already stored (a returning user) makes no unauthenticated probe, so the tests do not trip the
  // server's limit on failed authentications; the first tests sign in through the form.
  if (signIn === "stored")
    await context.addInitScript((t) => localStorage.setItem("loopml.token", t), tokens[role]);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith("data:"))
      errors.push(`off-origin request ${r.url()}`);
  });
  await page.goto(`${url}/#/runs`);
  if (signIn === "form") {
    await page.fill("#token", tokens[role]!);
    await page.click("button:text('Sign in')");
  }
  await page.waitForSelector("#runs-table .vrow[data-run]", { timeout: 15_000 }).catch(async (e: unknown) => {
    // Say what the page showed instead, not just that a selector never appeared.
    throw new Error(`${String(e)}\npage: ${await page.textContent("main")}\nconsole: ${errors.join("\n")}`);
  });
  // Before signing in, the browser logs the server's 401 for the unauthenticated probe: expected, not a fault.
  expect(errors.filter((e) => !e.includes("401"))).toEqual([]);
  errors.length = 0;
  return { page, errors };
}

describe("dashboard in Chromium", () => {
  it("serves the assets with content types, and the API still needs a token", async () => {
    const html = await fetch(`${url}/`);
    expect(html.headers.get("content-type")).toContain("text/html");
    const js = await fetch(`${url}/ui/app.js`);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await fetch(`${url}/api/v1/ui/audit`)).status).toBe(401);
  });

  it("runs: the filter narrows the table, sorting works, comparison charts downsampled curves", async () => {
    const { page, errors } = await open("editor", "form");
    await page.waitForFunction(() => document.querySelector("#run-count")?.textContent === "40 runs");
    await page.fill("#filter", "metrics.auc > 0.85");
    await page.click("button:text('Apply')");
    await page.waitForFunction(() => document.querySelector("#run-count")?.textContent !== "40 runs");
    const count = await page.textContent("#run-count");
    // auc = 0.6 + i*0.008 > 0.85  ⇔  i ≥ 32: runs 32..39
    expect(count).toBe("8 runs");
    const names = await page.$$eval("#runs-table .vrow[data-run] span[role=gridcell]:first-child", (els) =>
      els.map((e) => e.textContent),
    );
    expect(names.every((n) => Number(n.slice(6)) >= 32)).toBe(true);

    await page.fill("#filter", "");
    await page.click("button:text('Apply')");
    await page.waitForFunction(() => document.querySelector("#run-count")?.textContent === "40 runs");
    const firstRow = () =>
      page.evaluate(
        () => document.querySelector("#runs-table .vrow[data-run] span[role=gridcell]")?.textContent,
      );
    await page.click("button[title='Sort by Run']");
    await page.waitForFunction(() =>
      document.querySelector("[aria-sort='descending']")?.textContent?.startsWith("Run"),
    );
    await page.waitForFunction(() => document.querySelector("#run-count")?.textContent === "40 runs");
    expect(await firstRow()).toBe("trial-39");
    await page.click("button[title='Sort by Run']");
    await page.waitForFunction(() =>
      document.querySelector("[aria-sort='ascending']")?.textContent?.startsWith("Run"),
    );
    await page.waitForFunction(() => document.querySelector("#run-count")?.textContent === "40 runs");
    expect(await firstRow()).toBe("trial-00");
    await page.check("input[aria-label='Select run trial-00']");
    await page.check("input[aria-label='Select run trial-01']");
    await page.click("#compare-btn");
    await page.selectOption("#compare-metric", "loss");
    await page.waitForFunction(() => document.querySelector("#compare-metric") !== null);
    await page.waitForSelector("#chart[data-rendered='1'] canvas");
    await page.waitForFunction(() =>
      document.querySelector("#compare .muted")?.textContent?.includes("10000 points"),
    );
    expect(await page.textContent("#params-diff")).toContain("lr *");
    await page.screenshot({ path: join(SHOTS, "runs.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("models: an editor promotes through the UI, the alias moves and the audit log shows it", async () => {
    const { page, errors } = await open("editor");
    await page.click("nav >> text=Models");
    await page.waitForSelector("#promote-form");
    await page.selectOption("#promote-version", "2");
    await page.fill("#promote-alias", "production");
    await page.click("#promote-form button[type=submit]");
    await page.waitForFunction(() =>
      document.querySelector("#promote-result")?.textContent?.includes("Moved"),
    );
    expect(await page.textContent("#alias-history")).toContain("ui-editor");
    expect(await page.textContent("#models")).toContain("production → v2");
    await page.screenshot({ path: join(SHOTS, "models.png"), fullPage: true });
    const model = (await (
      await fetch(`${url}/api/v1/models/churn`, { headers: { authorization: `Bearer ${tokens["viewer"]!}` } })
    ).json()) as { aliases: Record<string, number> };
    expect(model.aliases["production"]).toBe(2);

    await page.click("nav >> text=Audit");
    await page.waitForSelector("#audit-verify.ok");
    await page.fill("#audit-action", "model.promote");
    await page.click("button:text('Filter')");
    await page.waitForFunction(
      () => document.querySelector("#audit-events caption")?.textContent === "1 events (newest first)",
    );
    const row = await page.textContent("#audit-events");
    expect(row).toContain("ui-editor");
    expect(row).toContain("model:churn");
    expect(await page.textContent("#audit-verify")).toMatch(/Chain verified: \d+ events/);
    await page.screenshot({ path: join(SHOTS, "audit.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("a viewer sees models without the promote button", async () => {
    const { page, errors } = await open("viewer", "form");
    await page.click("nav >> text=Models");
    await page.waitForSelector("#versions");
    expect(await page.$("#promote-form")).toBeNull();
    expect(await page.textContent("#model-detail")).toContain("may not promote");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

/** Navigates with the header links (as a user would) and waits until the page finished loading. */
async function go(page: Page, link: string, ready: string): Promise<void> {
  await page.click(`header nav >> text=${link}`);
  await page.waitForSelector(`main[aria-busy='false'] ${ready}`);
}

/** Form controls a screen reader could not name: no <label>, no aria-label. */
async function unlabelledControls(page: Page): Promise<string[]> {
  return page.$$eval("main input, main select, main textarea", (els) =>
    els
      .filter((e) => (e as HTMLInputElement).labels?.length === 0 && !e.getAttribute("aria-label"))
      .map((e) => e.outerHTML.slice(0, 120)),
  );
}

describe("dashboard pages in Chromium", () => {
  it("overview: models in production, live traffic and error rate, retrains, open alerts; n/a where unknown", async () => {
    const { page, errors } = await open("viewer");
    await go(page, "Overview", "#ops-deployments");
    expect(await page.textContent("#t-production")).toContain("1");
    expect(await page.textContent("#t-alerts")).toMatch(/Open alerts\s*1/);
    expect(await page.textContent("#t-retrains")).toContain("0 / 0");
    expect(await page.textContent("#t-compute")).toContain("n/a");
    // 600 seeded log rows, plus the 60 served predictions once the logger flushed them.
    expect(
      Number((await page.textContent("#t-predictions .tile-value"))!.replace(/\D/g, "")),
    ).toBeGreaterThanOrEqual(600);
    const row = (await page.textContent("#ops-deployments"))!;
    // (the models test may already have promoted v2)
    expect(row).toMatch(/churn@production → v[12]/);
    // 60 served + 3 refused requests, 3/63 = 4.8% errors, and a p99 from the latency histogram.
    expect(row).toContain("63");
    expect(row).toContain("4.8%");
    expect(row).toMatch(/\d+(\.\d+)? ms/);
    expect(await page.textContent("#ops-alerts")).toContain("drift_share >= 0.5");
    expect(await page.textContent("#ops-monitors")).toContain("churn-drift");
    expect(await unlabelledControls(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, "overview.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("pipelines: the DAG by level with status, cache hits and durations; a step's log by keyboard", async () => {
    const { page, errors } = await open("viewer");
    await go(page, "Pipelines", "#dag svg");
    expect(await page.$$eval("#pipeline-runs tr", (r) => r.length - 1)).toBe(2);
    // The newest run reused three steps from the cache and ran only the report.
    const statusOf = async (): Promise<Record<string, string>> =>
      Object.fromEntries(
        await page.$$eval("#pipeline-steps tr", (rows) =>
          rows
            .slice(1)
            .map((r) => [r.children[0]?.textContent ?? "", r.children[2]?.textContent ?? ""] as const),
        ),
      );
    expect(await statusOf()).toEqual({
      prepare: "↺ cached",
      features: "↺ cached",
      report: "✓ succeeded",
      train: "↺ cached",
    });
    expect(await page.$$eval("#dag g.node", (n) => n.map((g) => g.getAttribute("data-node")))).toEqual([
      "prepare",
      "features",
      "report",
      "train",
    ]);
    // Levels are columns: features and report (level 1) right of prepare, train (level 2) further right.
    const xs: Record<string, number> = Object.fromEntries(
      await page.$$eval("#dag g.node", (n) =>
        n.map((g) => [g.getAttribute("data-node") ?? "", g.getBoundingClientRect().x] as const),
      ),
    );
    expect(xs["features"]).toBeGreaterThan(xs["prepare"]!);
    expect(xs["report"]).toBe(xs["features"]);
    expect(xs["train"]).toBeGreaterThan(xs["features"]!);
    await page.screenshot({ path: join(SHOTS, "pipelines-cached.png"), fullPage: true });

    await page.goto(`${url}/#/pipelines/${pipelineRuns[0]!}`);
    await page.waitForFunction(
      (id) => document.querySelector("#pipeline-detail h2")?.textContent?.includes(id),
      pipelineRuns[0]!.slice(0, 12),
    );
    expect(Object.values(await statusOf())).toEqual([
      "✓ succeeded",
      "✓ succeeded",
      "✓ succeeded",
      "✓ succeeded",
    ]);
    await page.focus("#dag g.node[data-node='prepare']");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#step-log pre");
    expect(await page.textContent("#step-log")).toMatch(/prepared 601 lines/);
    expect(await page.textContent("#dag")).toMatch(/\d+ ms|\d+\.\d s/);
    await page.screenshot({ path: join(SHOTS, "pipelines.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("deployments: versions serving, canary share, live traffic per version, swap and alias history", async () => {
    const { page, errors } = await open("viewer");
    await go(page, "Deployments", "#live-traffic");
    const card = (await page.textContent("[data-deployment='web']"))!;
    expect(card).toMatch(/churn@production → v[12]/);
    expect(card).toContain("churn@challenger → v2 · 25.0% of traffic");
    const live = (await page.textContent("#live-traffic"))!;
    expect(live).toMatch(/v1\s*primary/);
    expect(live).toMatch(/v2\s*canary/);
    // Every served request went to one of the two versions.
    const requests = await page.$$eval("#live-traffic tr", (rows) =>
      rows.slice(1).reduce((a, r) => a + Number(r.children[3]?.textContent ?? 0), 0),
    );
    expect(requests).toBe(60);
    expect(await page.textContent("#history-web")).toContain("deployment.create");
    expect(await page.textContent("#history-web")).toContain("model.alias.move");
    // 300 seeded rows per version, plus whatever the served traffic logged since.
    const logged = await page.$$eval("#logged-web tr", (rows) =>
      rows.slice(1).map((r) => Number(r.children[2]?.textContent)),
    );
    expect(logged).toHaveLength(2);
    for (const n of logged) expect(n).toBeGreaterThanOrEqual(300);
    // A second poll turns counters into rates.
    await page.waitForFunction(() =>
      /over the last \d+ s/.test(document.querySelector("#live-traffic caption")?.textContent ?? ""),
    );
    await page.screenshot({ path: join(SHOTS, "deployments.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("monitoring: drift share over time, firing alert, column tests and histograms, performance with labels", async () => {
    const { page, errors } = await open("viewer");
    await go(page, "Monitoring", "#column-tests");
    await page.waitForSelector("#drift-chart[data-rendered='1'] canvas");
    expect(await page.textContent("#monitor-alerts")).toMatch(/drift_share >= 0.5[\s\S]*firing/);
    const tests = (await page.textContent("#column-tests"))!;
    expect(tests).toMatch(/x[\s\S]*drift/);
    expect(await page.$$eval(".hists svg.hist", (s) => s.length)).toBeGreaterThanOrEqual(2);
    const perf = (await page.textContent("#monitor-performance"))!;
    expect(perf).toContain("200");
    expect(perf).toMatch(/accuracy/);
    // The first window had no drift: choosing it shows its own verdicts.
    await page.selectOption("#monitor-window", "1");
    await page.waitForFunction(() =>
      document.querySelector("#monitor-columns p")?.textContent?.startsWith("Window 1"),
    );
    expect(await page.textContent("#monitor-columns p")).toContain("ok");
    expect(await unlabelledControls(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, "monitoring.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("data: datasets, versions, column profiles and the diff of two versions", async () => {
    const { page, errors } = await open("viewer");
    await go(page, "Data", "#diff-files");
    expect(await page.$$eval("#dataset-versions tr", (r) => r.length - 1)).toBe(2);
    const profile = (await page.textContent("#profile"))!;
    expect(profile).toMatch(/700 rows/);
    for (const c of ["x", "plan", "churned"]) expect(profile).toContain(c);
    const diff = (await page.textContent("#diff"))!;
    expect(diff).toContain("customers@1 → customers@2");
    expect(diff).toMatch(/rows 600 → 700/);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, "data.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("models: the lineage graph goes from the version back to the run, pipeline steps and dataset version", async () => {
    const { page, errors } = await open("viewer");
    await go(page, "Models", "#lineage svg");
    const nodes = await page.$$eval("#lineage g.node", (n) => n.map((g) => g.textContent ?? ""));
    expect(nodes.some((t) => t.includes("customers@1"))).toBe(true);
    for (const step of ["prepare", "features", "train", "report"])
      expect(nodes.some((t) => t.startsWith(step))).toBe(true);
    expect(nodes.some((t) => t.startsWith("run "))).toBe(true);
    expect(nodes.at(-1)).toContain("churn v2");
    await page.screenshot({ path: join(SHOTS, "lineage.png"), fullPage: true });
    // Enter on the dataset node opens the data page.
    await page.focus("#lineage g.node[data-node='dataset:customers@1']");
    await page.keyboard.press("Enter");
    await page.waitForSelector("main[aria-busy='false'] #dataset-versions");
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("runs: parallel coordinates over a selected sweep, keyboard selection with Enter", async () => {
    const { page, errors } = await open("viewer");
    await page.waitForFunction(() => document.querySelector("#run-count")?.textContent === "40 runs");
    await page.click("#select-all-btn");
    await page.click("#compare-btn");
    await page.waitForSelector("#parcoords svg");
    expect(await page.$$eval("#parcoords polyline", (l) => l.length)).toBe(40);
    const axes = await page.$$eval("#parcoords text.title", (t) => t.map((x) => x.textContent));
    expect(axes).toEqual(["depth", "learner", "lr", "auc", "loss"]);
    expect(await page.textContent("#compare")).toContain("curves of the first 8");
    await page.screenshot({ path: join(SHOTS, "runs-parcoords.png"), fullPage: true });
    // A keyboard user toggles a row's checkbox with Enter.
    await page.focus("input[aria-label='Select run trial-39']");
    const before = await page.isChecked("input[aria-label='Select run trial-39']");
    await page.keyboard.press("Enter");
    expect(await page.isChecked("input[aria-label='Select run trial-39']")).toBe(!before);
    expect(await unlabelledControls(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
