// Registers a tiny native GBDT model "m" (two versions, @production on v1) for the serving fault tests.
import { frameFromColumns } from "../../src/learn/frame.ts";
import { gbdt } from "../../src/learn/gbdt/index.ts";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService } from "../../src/registry/service.ts";
import type { Workspace } from "../../src/workspace.ts";

export async function seedToyModel(ws: Workspace): Promise<void> {
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  await registry.createModel("m", { description: "toy" });
  const x = Float64Array.from({ length: 400 }, (_, i) => (i % 100) / 100);
  for (const threshold of [0.5, 0.3]) {
    const frame = frameFromColumns({ x, y: x.map((v) => (v > threshold ? 1 : 0)) });
    const model = gbdt({ objective: "binary", nRounds: 10, maxDepth: 2, nThreads: 1 }).fit(frame, "y");
    const blob = await ws.blobs.put(Buffer.from(JSON.stringify(model.toJSON())));
    await registry.createVersion("m", { blobId: blob.id, flavor: "native" });
  }
  await registry.setAlias("m", "production", 1);
}
