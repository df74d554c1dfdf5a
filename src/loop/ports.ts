// The real services plan/apply and the loop drive, over one workspace.
import { createRegistryEvents, type RegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import type { Workspace } from "../workspace.ts";
import type { DeploymentPort, MonitorPort } from "./contracts.ts";
import type { LoopPorts } from "./observe.ts";
import { LoopmlError } from "../errors.ts";
import { createDeploymentService } from "../serving/deployments.ts";

/** Until a service is part of this build: nothing exists, and creating one says so. */
function missing<S>(what: string): {
  list(): Promise<S[]>;
  upsert(): Promise<never>;
  remove(): Promise<never>;
} {
  const fail = (): Promise<never> =>
    Promise.reject(new LoopmlError("FAILED_PRECONDITION", `This loopml build has no ${what} service yet.`));
  return { list: () => Promise.resolve([]), upsert: fail, remove: fail };
}

export function createLoopPorts(ws: Workspace, events: RegistryEvents = createRegistryEvents()): LoopPorts {
  const deployments: DeploymentPort = createDeploymentService(ws);
  const monitors: MonitorPort = missing("monitor");
  return { registry: createRegistryService({ ...ws, events }), deployments, monitors };
}
