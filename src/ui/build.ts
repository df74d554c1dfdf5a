// Builds the dashboard's static assets (one ES module bundle, its CSS and index.html) into dist/ui with esbuild.
// Run at install time (`npx tsx src/ui/build.ts`); the server also rebuilds lazily when sources are newer.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// This module also runs from the CLI bundle in dist/cli: find the project root by walking up to package.json.
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const root = projectRoot();
export const UI_SOURCE_DIR = join(root, "src", "ui", "app");
export const UI_DIST_DIR = join(root, "dist", "ui");
const UPLOT_CSS = join(root, "node_modules", "uplot", "dist", "uPlot.min.css");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when dist/ui holds a bundle at least as new as every UI source file. */
export function uiBuildIsFresh(outDir = UI_DIST_DIR): boolean {
  const built = join(outDir, "app.js");
  if (!existsSync(built)) return false;
  // An installed copy without sources serves what was built at install time.
  if (!existsSync(UI_SOURCE_DIR)) return true;
  return statSync(built).mtimeMs >= newestMtime(UI_SOURCE_DIR);
}

/** Bundles src/ui/app into `outDir` (swapped in atomically so a server never serves a half-written file). */
export async function buildUi(outDir = UI_DIST_DIR): Promise<{ outDir: string; ms: number }> {
  const t0 = performance.now();
  const { build } = await import("esbuild");
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  await build({
    entryPoints: [join(UI_SOURCE_DIR, "main.ts")],
    outfile: join(tmp, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome110",
    minify: true,
    sourcemap: false,
    logLevel: "silent",
  });
  copyFileSync(join(UI_SOURCE_DIR, "index.html"), join(tmp, "index.html"));
  copyFileSync(join(UI_SOURCE_DIR, "style.css"), join(tmp, "style.css"));
  copyFileSync(UPLOT_CSS, join(tmp, "uplot.css"));
  mkdirSync(dirname(outDir), { recursive: true });
  const old = `${outDir}.old-${process.pid}-${Date.now()}`;
  try {
    renameSync(outDir, old);
  } catch {
    // first build: nothing to move aside
  }
  renameSync(tmp, outDir);
  rmSync(old, { recursive: true, force: true });
  return { outDir, ms: performance.now() - t0 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await buildUi();
  console.log(`dashboard built into ${r.outDir} in ${r.ms.toFixed(0)} ms`);
}
