// Blob store benchmark: put and get of a 1 GiB file on the folder backend, beside sha256sum and cp of the same file.
import { execFileSync, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createFsBlobs } from "../../src/store/fs/fs-blobs.ts";
import { makeTestFile, peakRssMb, writeResults, type BenchResult } from "../common.ts";

const SIZE = Number(process.env["BENCH_BLOB_BYTES"] ?? 1024 ** 3);

async function main(): Promise<void> {
  if (process.argv[2] === "--child") return child(process.argv[3] ?? "", process.argv[4] ?? "");
  const dir = await mkdtemp(join(tmpdir(), "loopml-bench-blobs-"));
  try {
    const file = join(dir, "input.bin");
    await makeTestFile(file, SIZE);
    execFileSync("sync");
    const mb = SIZE / 1024 ** 2;
    const timeCmd = (cmd: string, args: string[]): number => {
      const t = performance.now();
      const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
      if (r.status !== 0) throw new Error(`${cmd} failed`);
      return (performance.now() - t) / 1000;
    };
    const shaSeconds = timeCmd("sha256sum", [file]);
    const cpSeconds = timeCmd("cp", [file, join(dir, "copy.bin")]);
    await rm(join(dir, "copy.bin"));
    // Each loopml measurement runs in its own process so that peak RSS is its own.
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", import.meta.filename, "--child", file, join(dir, "objects")],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const m = JSON.parse(out) as { putSeconds: number; getSeconds: number; peakRssMb: number };
    const results: BenchResult[] = [
      { name: "sha256sum", value: mb / shaSeconds, unit: "MB/s", seconds: shaSeconds },
      { name: "cp", value: mb / cpSeconds, unit: "MB/s", seconds: cpSeconds },
      {
        name: "loopml blob put (folder)",
        value: mb / m.putSeconds,
        unit: "MB/s",
        seconds: m.putSeconds,
        ratioToReference: shaSeconds / m.putSeconds,
        reference: "sha256sum",
        target: ">= 1.5",
      },
      {
        name: "loopml blob get (folder, verified)",
        value: mb / m.getSeconds,
        unit: "MB/s",
        seconds: m.getSeconds,
        ratioToReference: cpSeconds / m.getSeconds,
        reference: "cp",
      },
      { name: "loopml blob peak RSS", value: m.peakRssMb, unit: "MB", target: "< 200" },
    ];
    for (const r of results) console.log(JSON.stringify(r));
    await writeResults("blobs", { bytes: SIZE, results });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function child(file: string, root: string): Promise<void> {
  const blobs = await createFsBlobs({ root });
  let t = performance.now();
  const info = await blobs.putFile(file);
  const putSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  await pipeline(blobs.get(info.id), createWriteStream(join(root, "..", "restored.bin")));
  const getSeconds = (performance.now() - t) / 1000;
  process.stdout.write(JSON.stringify({ putSeconds, getSeconds, peakRssMb: peakRssMb() }));
}

await main();
