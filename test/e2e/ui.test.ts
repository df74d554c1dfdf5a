// The dashboard in a real browser (Debian's Chromium via playwright-core) against a seeded server with auth:
// every page loads without console errors, a filter narrows the runs table, the comparison chart renders,
// promotion through the UI moves the alias and is audited, a viewer sees no promote button; screenshots.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService } from "../../src/registry/service.ts";
import { createApp } from "../../src/server/app.ts";
import { createTokenService } from "../../src/server/auth.ts";
import { downsampleMinMax } from "../../src/server/routes/ui.ts";
import { createTrackingService } from "../../src/tracking/service.ts";
import { buildUi } from "../../src/ui/build.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";

const SHOTS = join(process.cwd(), "test-results", "ui");
const tmp = makeTempDir();
let ws: Workspace;
let app: FastifyInstance;
let url = "";
let browser: Browser;
const tokens: Record<string, string> = {};

async function seed(): Promise<void> {
  const tracking = createTrackingService(ws, { actor: "seed" });
  await tracking.createExperiment("churn");
  for (let i = 0; i < 40; i++) {
    const run = await tracking.createRun({
      experiment: "churn",
      name: `trial-${String(i).padStart(2, "0")}`,
    });
    const steps = i < 2 ? 5000 : 20;
    const metrics = Array.from({ length: steps }, (_, s) => ({
      key: "loss",
      value: 1 / (1 + s * (0.01 + i * 0.001)) + (s % 97 === 0 ? 0.05 : 0),
      step: s,
      timestamp: 1_700_000_000_000 + s,
    }));
    metrics.push({ key: "auc", value: 0.6 + i * 0.008, step: 0, timestamp: 1_700_000_000_000 });
    await tracking.logBatch(run.id, {
      metrics,
      params: [
        { key: "lr", value: String(0.01 * (1 + (i % 4))) },
        { key: "depth", value: String(3 + (i % 3)) },
      ],
    });
    await tracking.updateRun(run.id, { status: "FINISHED", endTime: 1_700_000_100_000 });
  }
  const registry = createRegistryService(
    { ...ws, events: createRegistryEvents() },
    { actor: "seed", role: "admin" },
  );
  await registry.createModel("churn", { description: "Churn classifier" });
  await registry.createVersion("churn", { source: "file:models/churn-1", metrics: { auc: 0.81 } });
  await registry.createVersion("churn", { source: "file:models/churn-2", metrics: { auc: 0.86 } });
  await registry.setAlias("churn", "production", 1);
  const t = createTokenService(ws);
  for (const role of ["viewer", "editor"] as const) tokens[role] = (await t.create(`ui-${role}`, role)).token;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ws = await openWorkspace({
    dir: tmp.path,
    store: "sqlite:.loopml/loopml.db",
    artifacts: `file:${join(tmp.path, "objects")}`,
    actor: "local:test",
  });
  await Promise.all([seed(), buildUi()]);
  app = await createApp({ workspace: ws, auth: { allowAnonymous: false } });
  url = await app.listen({ host: "127.0.0.1", port: 0 });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await ws?.close();
  tmp.remove();
});

/** A page signed in with `role`'s token, collecting console errors and failed requests to other origins. */
async function open(role: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
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
  await page.fill("#token", tokens[role]!);
  await page.click("button:text('Sign in')");
  await page.waitForSelector("#runs-table .vrow[data-run]", { timeout: 15_000 }).catch(async (e: unknown) => {
    // Say what the page showed instead, not just that a selector never appeared.
    throw new Error(`${String(e)}\npage: ${await page.textContent("main")}\nconsole: ${errors.join("\n")}`);
  });
  // Before signing in, the browser logs the server's 401 for the unauthenticated probe: expected, not a fault.
  expect(errors.filter((e) => !e.includes("401"))).toEqual([]);
  errors.length = 0;
  return { page, errors };
}

describe("min/max downsampling", () => {
  it("keeps at most two points per bucket, in step order, and never loses a spike", () => {
    const n = 100_000;
    const steps = Float64Array.from({ length: n }, (_, i) => i);
    const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 1000));
    values[54_321] = 50;
    values[7] = NaN;
    const d = downsampleMinMax(steps, values, 1000);
    expect(d.steps.length).toBeLessThanOrEqual(2000);
    expect(d.steps.length).toBeGreaterThan(1000);
    expect(Math.max(...d.values)).toBe(50);
    expect(d.steps[d.values.indexOf(50)]).toBe(54_321);
    expect(d.values.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < d.steps.length; i++) expect(d.steps[i]!).toBeGreaterThan(d.steps[i - 1]!);
  });
});

describe("dashboard in Chromium", () => {
  it("serves the assets with content types, and the API still needs a token", async () => {
    const html = await fetch(`${url}/`);
    expect(html.headers.get("content-type")).toContain("text/html");
    const js = await fetch(`${url}/ui/app.js`);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await fetch(`${url}/api/v1/ui/audit`)).status).toBe(401);
  });

  it("runs: the filter narrows the table, sorting works, comparison charts downsampled curves", async () => {
    const { page, errors } = await open("editor");
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
    const { page, errors } = await open("viewer");
    await page.click("nav >> text=Models");
    await page.waitForSelector("#versions");
    expect(await page.$("#promote-form")).toBeNull();
    expect(await page.textContent("#model-detail")).toContain("may not promote");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
