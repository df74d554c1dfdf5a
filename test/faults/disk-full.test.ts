// A full disk during `loopml data add`, simulated with a file size limit (ulimit -f: writes past it fail with EFBIG,
// as they fail with ENOSPC on a full disk, with no mount needed): a clear error, no version, no temp files left,
// and the same add succeeds once there is room.
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { makeTempDir } from "../setup/tmp.ts";
import { BIN, loopmlOk, runLoopml } from "../scale/procs.ts";

const tmp = makeTempDir("loopml-fault-disk-");
afterAll(() => tmp.remove());

/** Runs loopml with writes limited to `kib` KiB per file; SIGXFSZ ignored so that writes fail with EFBIG instead. */
const limited = (kib: number): string[] => [
  "bash",
  "-c",
  `trap '' XFSZ; ulimit -f ${kib}; exec "$0" "$@"`,
  process.execPath,
  BIN,
];

it("[slow] data add on a full disk fails clearly and leaves no partial version", async () => {
  const cwd = tmp.path;
  // The store exists first (the metadata file stays below the limit); the chunks of a 14 MB file do not fit.
  await loopmlOk(["data", "versions", "--json"], { cwd });
  const rows = ["a,b,c"];
  for (let i = 0; i < 400_000; i++) rows.push(`${i},${(i * 2654435761) % 4294967296},${(i * 40503) % 65536}`);
  writeFileSync(join(cwd, "big.csv"), `${rows.join("\n")}\n`);

  const full = await runLoopml(["data", "add", "big.csv", "--name", "big", "--json"], {
    cwd,
    command: limited(1000),
  });
  expect(full.status).toBe(1);
  const error = (JSON.parse(full.stderr) as { error: { code: string; message: string } }).error;
  expect(error.code).toBe("RESOURCE_EXHAUSTED");
  expect(error.message).toMatch(/grew past the file size limit/);
  expect(full.stderr).not.toMatch(/\n\s+at /);

  const listed = await runLoopml(["data", "versions", "big", "--json"], { cwd });
  if (listed.status === 0) expect(JSON.parse(listed.stdout)).toEqual([]);
  else expect(listed.stderr).toContain('"NOT_FOUND"');
  expect(readdirSync(join(cwd, ".loopml", "objects", "tmp"))).toEqual([]);
  expect((JSON.parse(await loopmlOk(["audit", "verify", "--json"], { cwd })) as { ok: boolean }).ok).toBe(
    true,
  );

  const added = JSON.parse(
    await loopmlOk(["data", "add", "big.csv", "--name", "big", "--json"], { cwd }),
  ) as {
    created: boolean;
    version: { seq: number };
  };
  expect(added).toMatchObject({ created: true, version: { seq: 1 } });
}, 120_000);
