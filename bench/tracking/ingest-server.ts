// The ingest benchmark's server process: a SQLite-backed loopml server on a free loopback port; prints its URL.
import { join } from "node:path";
import { createApp } from "../../src/server/app.ts";
import { openWorkspace } from "../../src/workspace.ts";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: ingest-server.ts DIR");
const ws = await openWorkspace({
  dir,
  store: `sqlite:${join(dir, "ingest.db")}`,
  artifacts: `file:${join(dir, "objects")}`,
});
const app = await createApp({ workspace: ws, auth: { allowAnonymous: true } });
const url = await app.listen({ host: "127.0.0.1", port: 0 });
const startup = process.cpuUsage();
process.stdout.write(`${url}\n`);
// The parent closes stdin when it is done: shut down cleanly and report this process's CPU time.
process.stdin.resume();
process.stdin.on("end", () => {
  void (async () => {
    await app.close();
    await ws.close();
    // Start-up (module loading, migrations) is not part of ingestion.
    const cpu = process.cpuUsage(startup);
    process.stdout.write(`${JSON.stringify({ serverCpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
  })();
});
