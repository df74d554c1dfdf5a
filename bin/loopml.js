#!/usr/bin/env node
// Launcher: runs the CLI from an esbuild bundle in dist/, rebuilt whenever a source file is newer;
// falls back to running the TypeScript through tsx when the bundle cannot be built or written.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = join(root, "src");
const outDir = join(root, "dist", "cli");
const entry = join(outDir, "bin.js");

function newestSourceMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMtime(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    return statSync(entry).mtimeMs >= newestSourceMtime(srcDir);
  } catch {
    return false;
  }
}

async function rebuild() {
  const { build } = await import("esbuild");
  // Build into a private folder, then swap it in, so a concurrent launcher never imports a half-written bundle.
  const tmp = `${outDir}.tmp-${process.pid}`;
  await build({
    entryPoints: [join(srcDir, "cli", "bin.ts")],
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    logLevel: "silent",
  });
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(`${outDir}.old-${process.pid}`, { recursive: true, force: true });
  try {
    renameSync(outDir, `${outDir}.old-${process.pid}`);
  } catch {
    // first build: nothing to move aside
  }
  renameSync(tmp, outDir);
  rmSync(`${outDir}.old-${process.pid}`, { recursive: true, force: true });
}

let useBundle = bundleIsFresh();
if (!useBundle && process.env.LOOPML_NO_BUNDLE !== "1") {
  try {
    await rebuild();
    useBundle = true;
  } catch {
    useBundle = false;
  }
}
if (useBundle) {
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(srcDir, "cli", "bin.ts")).href);
}
