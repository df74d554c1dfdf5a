// Blob store benchmark: put/get of a 1 GiB file, and putMany/getBytes of it as 1 MiB blobs, on the folder backend, beside sha256sum and cp of the same file.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
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
    const m = JSON.parse(out) as {
      putSeconds: number;
      getSeconds: number;
      putManySeconds: number;
      getBytesSeconds: number;
      peakRssMb: number;
    };
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
      {
        name: "loopml blob putMany (folder, 1 MiB blobs, ids from the chunker, 16 per batch)",
        value: mb / m.putManySeconds,
        unit: "MB/s",
        seconds: m.putManySeconds,
        ratioToReference: cpSeconds / m.putManySeconds,
        reference: "cp",
      },
      {
        name: "loopml blob getBytes (folder, 1 MiB blobs, verified, 6 at once)",
        value: mb / m.getBytesSeconds,
        unit: "MB/s",
        seconds: m.getBytesSeconds,
        ratioToReference: cpSeconds / m.getBytesSeconds,
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

  // The data module's path: 1 MiB chunks whose ids the chunker computed, stored in batches.
  const many = await createFsBlobs({ root: `${root}-many` });
  const fh = await open(file, "r");
  const ids: string[] = [];
  let putManySeconds = 0;
  try {
    for (;;) {
      const batch: { id: string; bytes: Buffer }[] = [];
      for (let i = 0; i < 16; i++) {
        const bytes = Buffer.allocUnsafe(1 << 20);
        const { bytesRead } = await fh.read(bytes, 0, bytes.length);
        if (bytesRead === 0) break;
        const chunk = bytes.subarray(0, bytesRead);
        batch.push({ id: createHash("sha256").update(chunk).digest("hex"), bytes: chunk });
      }
      if (batch.length === 0) break;
      ids.push(...batch.map((b) => b.id));
      t = performance.now();
      await many.putMany(batch);
      putManySeconds += (performance.now() - t) / 1000;
    }
  } finally {
    await fh.close();
  }
  t = performance.now();
  const out = await open(join(root, "..", "restored-many.bin"), "w");
  let pos = 0;
  for (let i = 0; i < ids.length; i += 6) {
    const parts = await Promise.all(ids.slice(i, i + 6).map((id) => many.getBytes(id)));
    for (const p of parts) {
      await out.write(p, 0, p.length, pos);
      pos += p.length;
    }
  }
  await out.close();
  const getBytesSeconds = (performance.now() - t) / 1000;
  process.stdout.write(
    JSON.stringify({ putSeconds, getSeconds, putManySeconds, getBytesSeconds, peakRssMb: peakRssMb() }),
  );
}

await main();
