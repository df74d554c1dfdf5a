// Benchmark: per-column drift (KS + Wasserstein + PSI on 28 numeric features, chi-square on one categorical
// column), 1,000,000 reference vs 1,000,000 current rows, loopml vs SciPy/NumPy on the same data in one run.
// Usage: npx tsx bench/drift/drift-vs-scipy.ts [--rows 1000000] [--features 28]
// Each side runs in its own process (time and peak RSS measured there); writes bench/results/drift.json.
// Both sides run concurrently; wall and CPU time are recorded (on a shared machine wall time mostly measures
// scheduler share, CPU time the work done). loopml uses both cores (worker threads); SciPy/NumPy one.
// Then, one at a time: a 100k-row window against a precomputed 1M-row reference, and 1,000 columns × 300k rows
// (bench/drift/window-and-wide.ts). Options: --wide-columns N.
import { execFile, execFileSync } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chiSquareTest } from "../../src/monitoring/stats/categorical.ts";
import { closeDriftWorkers, numericDriftColumns } from "../../src/monitoring/stats/parallel.ts";
import { bellSample, createLcg } from "../../src/monitoring/stats/rng.ts";
import { machine } from "../common.ts";

/** Both cores of the machine this benchmark targets. */
const THREADS = 2;

interface Meta {
  readonly referenceRows: number;
  readonly currentRows: number;
  readonly features: number;
}

interface SideResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly perTestSeconds: Record<string, number>;
  readonly peakRssMb: number;
  readonly columns: { ks: [number, number]; wasserstein: number; psi: number }[];
  readonly chisquare: [number, number];
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Writes reference and current samples per feature (float64, NaN missing) and one categorical column (int32). */
function writeData(dir: string, meta: Meta): void {
  const fd = openSync(join(dir, "numeric.f64"), "w");
  for (let f = 0; f < meta.features; f++) {
    // Every fourth feature drifts (shift and spread); every feature has about 0.1 % missing values.
    const drift = f % 4 === 0;
    const ref = bellSample(1000 + f, meta.referenceRows, 10 * f, 1 + f / 10);
    const cur = bellSample(
      5000 + f,
      meta.currentRows,
      10 * f + (drift ? 0.2 : 0),
      (1 + f / 10) * (drift ? 1.2 : 1),
    );
    for (let i = f; i < ref.length; i += 997) ref[i] = Number.NaN;
    for (let i = f; i < cur.length; i += 1009) cur[i] = Number.NaN;
    writeSync(fd, new Uint8Array(ref.buffer));
    writeSync(fd, new Uint8Array(cur.buffer));
  }
  closeSync(fd);
  const next = createLcg(77);
  const codes = new Int32Array(meta.referenceRows + meta.currentRows);
  for (let i = 0; i < codes.length; i++) {
    const u = next();
    // 12 categories; the current window over-represents the first ones; ~0.5 % missing.
    const skew = i >= meta.referenceRows ? u * u * 0.3 + u * 0.7 : u;
    codes[i] = u < 0.005 ? -1 : Math.min(11, Math.floor(skew * 12));
  }
  writeFileSync(join(dir, "categorical.i32"), new Uint8Array(codes.buffer));
  writeFileSync(join(dir, "meta.json"), JSON.stringify(meta));
}

function readFloats(fd: number, offsetValues: number, count: number): Float64Array {
  const out = new Float64Array(count);
  readSync(fd, new Uint8Array(out.buffer), 0, count * 8, offsetValues * 8);
  return out;
}

/** Columns per call: enough to keep both threads busy, few enough that only 16 columns are in memory at once. */
const BATCH = 8;

/** The loopml side, run in a child process so its peak RSS is its own. */
async function runLoopml(dir: string): Promise<SideResult> {
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as Meta;
  const fd = openSync(join(dir, "numeric.f64"), "r");
  const per = { numericKernel: 0, chisquare: 0 };
  const columns: SideResult["columns"] = [];
  let cpuMicros = 0;
  for (let f0 = 0; f0 < meta.features; f0 += BATCH) {
    const pairs = [];
    for (let f = f0; f < Math.min(meta.features, f0 + BATCH); f++) {
      const base = f * (meta.referenceRows + meta.currentRows);
      pairs.push({
        reference: readFloats(fd, base, meta.referenceRows),
        current: readFloats(fd, base + meta.referenceRows, meta.currentRows),
      });
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    // One sort per side per column serves KS, Wasserstein and PSI; columns are dealt out over both cores.
    const results = await numericDriftColumns(pairs, { threads: THREADS });
    per.numericKernel += performance.now() - t0;
    const c1 = process.cpuUsage(c0);
    cpuMicros += c1.user + c1.system;
    for (const r of results) {
      columns.push({ ks: [r.ks!.statistic, r.ks!.pValue], wasserstein: r.wasserstein!, psi: r.psi! });
    }
  }
  closeSync(fd);
  await closeDriftWorkers();
  const cfd = openSync(join(dir, "categorical.i32"), "r");
  const codes = new Int32Array(meta.referenceRows + meta.currentRows);
  readSync(cfd, new Uint8Array(codes.buffer), 0, codes.byteLength, 0);
  closeSync(cfd);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const chi = chiSquareTest(codes.subarray(0, meta.referenceRows), codes.subarray(meta.referenceRows));
  per.chisquare = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  cpuMicros += c1.user + c1.system;
  const ms = Object.values(per).reduce((s, x) => s + x, 0);
  const perTestSeconds = Object.fromEntries(Object.entries(per).map(([k, v]) => [k, v / 1000]));
  // maxRSS is in kilobytes.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  return {
    seconds: ms / 1000,
    cpuSeconds: cpuMicros / 1e6,
    perTestSeconds,
    peakRssMb,
    columns,
    chisquare: [chi.statistic, chi.pValue ?? Number.NaN],
  };
}

function maxRelDiff(a: SideResult, b: SideResult): number {
  const rel = (x: number, y: number): number =>
    x === y ? 0 : Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
  let worst = rel(a.chisquare[0], b.chisquare[0]);
  worst = Math.max(worst, rel(a.chisquare[1], b.chisquare[1]));
  a.columns.forEach((c, i) => {
    const d = b.columns[i]!;
    worst = Math.max(
      worst,
      rel(c.ks[0], d.ks[0]),
      rel(c.ks[1], d.ks[1]),
      rel(c.wasserstein, d.wasserstein),
      rel(c.psi, d.psi),
    );
  });
  return worst;
}

const pick = (s: SideResult) => ({
  seconds: s.seconds,
  cpuSeconds: s.cpuSeconds,
  perTestSeconds: s.perTestSeconds,
  peakRssMb: s.peakRssMb,
});

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: "utf8", maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

async function main(): Promise<void> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  if (process.argv[2] === "--loopml-side") {
    process.stdout.write(JSON.stringify(await runLoopml(process.argv[3]!)) + "\n");
    return;
  }
  const meta: Meta = {
    referenceRows: arg("--rows", 1_000_000),
    currentRows: arg("--rows", 1_000_000),
    features: arg("--features", 28),
  };
  const dir = mkdtempSync(join(tmpdir(), "loopml-drift-bench-"));
  try {
    writeData(dir, meta);
    // Both sides run at the same time, one process each: on a shared machine they then see the same load, and
    // on an idle 2-core machine each gets a core. Each side times only its own statistics.
    const [loopmlOut, scipyOut] = await Promise.all([
      run(process.execPath, ["--import", "tsx", join(here, "drift-vs-scipy.ts"), "--loopml-side", dir]),
      run("/usr/bin/python3", [join(here, "scipy_ref.py"), dir]),
    ]);
    const loopml = JSON.parse(loopmlOut) as SideResult;
    const scipy = JSON.parse(scipyOut) as SideResult;
    const scipyVersion = execFileSync(
      "/usr/bin/python3",
      ["-c", "import scipy, numpy; print(scipy.__version__, numpy.__version__)"],
      {
        encoding: "utf8",
      },
    ).trim();
    // The other two workloads run after the comparison, one at a time, so they do not share the cores with it.
    const here2 = join(here, "window-and-wide.ts");
    const window = JSON.parse(await run(process.execPath, ["--import", "tsx", here2, "window"])) as unknown;
    const wide = JSON.parse(
      await run(process.execPath, [
        "--import",
        "tsx",
        here2,
        "wide",
        "--columns",
        String(arg("--wide-columns", 1000)),
      ]),
    ) as unknown;
    const summary = {
      bench: "drift-vs-scipy",
      date: new Date().toISOString(),
      machine: { ...machine(), cpus: availableParallelism(), scipyNumpy: scipyVersion },
      workload: {
        ...meta,
        numericTests: ["ks", "wasserstein_norm", "psi"],
        loopmlThreads: THREADS,
        categorical: "chisquare, 12 categories",
      },
      loadAverageAtEnd: loadavg()[0],
      loopml: pick(loopml),
      scipy: pick(scipy),
      speedupWall: scipy.seconds / loopml.seconds,
      speedupCpu: scipy.cpuSeconds / loopml.cpuSeconds,
      targetMet: {
        wallAtMostOneFifth: loopml.seconds <= scipy.seconds / 5,
        cpuAtMostOneFifth: loopml.cpuSeconds <= scipy.cpuSeconds / 5,
        peakRssUnder1GB: loopml.peakRssMb < 1024,
      },
      maxRelativeDifference: maxRelDiff(loopml, scipy),
      driftedColumnsByKs: loopml.columns.filter((c) => c.ks[1] <= 0.05).length,
      precomputedReferenceWindow: window,
      wide,
    };
    writeFileSync(join(here, "../results/drift.json"), JSON.stringify(summary, null, 2) + "\n");
    process.stdout.write(JSON.stringify(summary) + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
