// The loop tests' project: a temp folder with a workspace on the test's clock, model "m" registered, versions of dataset "d" from CSV text, and a quick GBDT trainer.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../../test/setup/tmp.ts";
import { createSequentialIds, type Clock } from "../../_internal/clock.ts";
import { silentLogger } from "../../_internal/logger.ts";
import { createDataService } from "../../data/service.ts";
import { gbdt } from "../../learn/gbdt/index.ts";
import { createRegistryEvents } from "../../registry/events.ts";
import { createRegistryService, type RegistryService } from "../../registry/service.ts";
import { openWorkspace, type Workspace } from "../../workspace.ts";
import { signatureOf, type Trainer } from "../retrain.ts";

export interface LoopProject {
  readonly dir: string;
  readonly ws: Workspace;
  readonly registry: RegistryService;
  /** Writes data/d.csv and adds it as the next version of dataset "d". */
  addVersion(csv: string): Promise<void>;
  /** Closes the workspace and removes the folder. */
  close(): Promise<void>;
}

/**
 * @example
 * beforeEach(async () => { project = await openLoopProject(clock); await project.addVersion("x,y\n1,0\n"); });
 * afterEach(() => project.close());
 */
export async function openLoopProject(
  clock: Clock,
  model: Parameters<RegistryService["createModel"]>[1] = {},
): Promise<LoopProject> {
  const tmp = makeTempDir();
  const ws = await openWorkspace({
    dir: tmp.path,
    clock,
    ids: createSequentialIds(),
    logger: silentLogger,
    env: {},
  });
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  await registry.createModel("m", model);
  await mkdir(join(tmp.path, "data"));
  const file = join(tmp.path, "data", "d.csv");
  return {
    dir: tmp.path,
    ws,
    registry,
    addVersion: async (csv) => {
      await writeFile(file, csv);
      await createDataService(ws).add(file, { name: "d" });
    },
    close: async () => {
      await ws.close();
      tmp.remove();
    },
  };
}

/** A small deterministic binary GBDT on one thread: enough to tell a flipped concept apart, fast. */
export function gbdtTrainer(nRounds: number): Trainer {
  return ({ train, target }) =>
    Promise.resolve({
      doc: gbdt({ objective: "binary", nRounds, maxDepth: 3, seed: 1, nThreads: 1 })
        .fit(train, target)
        .toJSON(),
      signature: signatureOf(train, target),
    });
}
