// Benchmark of data versioning against coreutils in the same run: add/re-add/checkout of 1 GiB, 100k small files, a 3M-row profile.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  closeSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDataService } from "../../src/data/service.ts";
import { profileTables } from "../../src/data/profile.ts";
import { silentLogger } from "../../src/_internal/logger.ts";
import { createFsBlobs } from "../../src/store/fs/fs-blobs.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { machine } from "../common.ts";

const MiB = 1 << 20;
const BIG_MB = Number(process.env["BENCH_DATA_MB"] ?? 1024);
const SMALL_FILES = Number(process.env["BENCH_DATA_SMALL_FILES"] ?? 100_000);
const FLIGHTS = join(import.meta.dirname, "..", "..", "..", "shared", "data", "flights_2001_h1_3m.parquet");
const RESULTS = join(import.meta.dirname, "..", "results", "data.json");

interface Timed {
  ms: number;
  maxRssMB: number;
  [k: string]: unknown;
}

/** Runs one step in a fresh process so that its peak RSS is its own. */
function child(step: string, dir: string, arg = ""): Timed {
  const r = spawnSync(process.execPath, ["--import", "tsx", import.meta.filename, "child", step, dir, arg], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`${step} failed: ${r.stderr}`);
  const last = r.stdout.trim().split("\n").pop() ?? "{}";
  return JSON.parse(last) as Timed;
}

function timeCommand(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`${cmd} failed`);
  return performance.now() - t;
}

async function runChild(step: string, dir: string, arg: string): Promise<void> {
  const t = performance.now();
  let extra: Record<string, unknown> = {};
  if (step === "profile") {
    const p = await profileTables([{ path: "flights.parquet", abs: arg }]);
    extra = { rows: p["flights.parquet"]?.rows, columns: p["flights.parquet"]?.columns.length };
  } else {
    const ws = await openWorkspace({ dir, logger: silentLogger });
    const data = createDataService(ws);
    if (step === "add" || step === "add-nondurable") {
      // add-nondurable: the same add into a folder blob store that skips the per-blob fsync
      const svc =
        step === "add"
          ? data
          : createDataService({
              ...ws,
              blobs: await createFsBlobs({ root: join(dir, ".loopml", "fast"), durable: false }),
            });
      const r = await svc.add(arg);
      extra = {
        created: r.created,
        bytesRead: r.bytesRead,
        bytesStored: r.bytesStored,
        files: r.version.fileCount,
      };
    } else if (step === "checkout") {
      const r = await data.checkout(arg);
      extra = { written: r.written, bytesWritten: r.bytesWritten };
    }
    await ws.close();
  }
  const ms = performance.now() - t;
  process.stdout.write(
    `${JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024, ...extra })}\n`,
  );
}

function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, "w");
  const block = 8 * MiB;
  for (let done = 0; done < bytes; done += block) writeSync(fd, randomBytes(Math.min(block, bytes - done)));
  closeSync(fd);
}

async function main(): Promise<void> {
  const startLoad = (await import("node:os")).loadavg()[0];
  const root = join(tmpdir(), `loopml-bench-data-${process.pid}`);
  mkdirSync(join(root, "data"), { recursive: true });
  const big = join(root, "data", "big.bin");
  const size = BIG_MB * MiB;
  try {
    writeRandomFile(big, size);
    const sha256sumMs = timeCommand("sha256sum", [big]);
    const cpMs = timeCommand("cp", [big, join(root, "copy.bin")]);
    rmSync(join(root, "copy.bin"));
    const add = child("add", root, "data/big.bin");
    const other = join(root, "other");
    mkdirSync(join(other, "data"), { recursive: true });
    linkSync(big, join(other, "data", "big.bin"));
    const addNondurable = child("add-nondurable", other, "data/big.bin");
    rmSync(other, { recursive: true, force: true });
    const rehash = child("add", root, "data/big.bin");
    appendFileSync(big, randomBytes(Math.round(size / 100)));
    const readd = child("add", root, "data/big.bin");
    rmSync(big);
    const checkout = child("checkout", root, "big@1");

    const small = join(root, "data", "small");
    mkdirSync(small);
    const payload = randomBytes(1024);
    for (let d = 0; d < SMALL_FILES / 1000; d++) {
      mkdirSync(join(small, `d${d}`));
      for (let i = 0; i < 1000; i++) {
        payload.writeUInt32LE(d * 1000 + i, 0);
        writeFileSync(join(small, `d${d}`, `f${i}.bin`), payload);
      }
    }
    const smallAdd = child("add", root, "data/small");
    const smallReadd = child("add", root, "data/small");
    const profile = existsSync(FLIGHTS) ? child("profile", root, FLIGHTS) : undefined;

    const mbps = (bytes: number, ms: number): number => Math.round(bytes / MiB / (ms / 1000));
    const result = {
      bench: "data",
      date: new Date().toISOString(),
      node: process.version,
      cores: (await import("node:os")).cpus().length,
      // the machine is shared: the load average at the end says how much the wall-clock figures suffered
      machine: machine(),
      loadAverageAtStart: startLoad,
      bigFileMiB: BIG_MB,
      sha256sum: { ms: Math.round(sha256sumMs), MiBps: mbps(size, sha256sumMs) },
      cp: { ms: Math.round(cpMs), MiBps: mbps(size, cpMs) },
      add: { ...add, MiBps: mbps(size, add.ms), vsSha256sum: +(sha256sumMs / add.ms).toFixed(2) },
      addNondurableBlobs: {
        ...addNondurable,
        MiBps: mbps(size, addNondurable.ms),
        vsSha256sum: +(sha256sumMs / addNondurable.ms).toFixed(2),
      },
      readdUnchanged: rehash,
      readdAfterAppend1pct: {
        ...readd,
        storedPctOfFile: +((100 * Number(readd["bytesStored"])) / size).toFixed(2),
        pctOfFirstAddTime: +((100 * readd.ms) / add.ms).toFixed(1),
      },
      checkout: { ...checkout, MiBps: mbps(size, checkout.ms), vsCp: +(cpMs / checkout.ms).toFixed(2) },
      smallFiles: { count: SMALL_FILES, add: smallAdd, readdUnchanged: smallReadd },
      ...(profile && { profileFlights3m: profile }),
      targets: {
        addVsSha256sum: ">= 2",
        addMaxRssMB: "< 300",
        readdStoredPct: "<= 3",
        readdPctOfFirstAdd: "<= 25",
        smallAddMs: "<= 30000",
        smallReaddMs: "<= 3000",
        checkoutVsCp: ">= 1",
        profileMs: "<= 5000",
      },
    };
    const line = JSON.stringify(result);
    process.stdout.write(`${line}\n`);
    if (BIG_MB === 1024 && SMALL_FILES === 100_000) {
      mkdirSync(join(import.meta.dirname, "..", "results"), { recursive: true });
      writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === "child") {
  await runChild(process.argv[3] ?? "", process.argv[4] ?? "", process.argv[5] ?? "");
} else {
  await main();
}
