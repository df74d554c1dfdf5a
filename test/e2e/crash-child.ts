// A process for the crash tests to kill -9 at a random moment: it writes blobs or audit events, or migrates, forever.
import { Readable } from "node:stream";
import { createFsBlobs } from "../../src/store/fs/fs-blobs.ts";
import { openWorkspace } from "../../src/workspace.ts";

const [mode, dir] = process.argv.slice(2);
if (!dir) throw new Error("usage: crash-child.ts blob|audit|open DIR");

if (mode === "blob") {
  const blobs = await createFsBlobs({ root: dir });
  // An endless stream, so the kill always lands mid-write.
  let n = 0;
  const endless = new Readable({
    read() {
      if (n++ === 4) process.stdout.write("writing\n");
      this.push(Buffer.alloc(1 << 20, n & 0xff));
    },
  });
  await blobs.put(endless);
} else if (mode === "audit") {
  const ws = await openWorkspace({ dir });
  process.stdout.write("writing\n");
  for (let i = 0; ; i++)
    await ws.audit.record({ actor: "crash", action: "x.create", target: `x:${i}`, details: { i } });
} else if (mode === "open") {
  // Opening a fresh store runs the migrations; the parent kills us somewhere inside.
  process.stdout.write("writing\n");
  const ws = await openWorkspace({ dir });
  await ws.close();
}
