// The real services plan/apply and the loop drive, over one workspace.
import { createMonitorService } from "../monitoring/monitors.ts";
import { createRegistryEvents, type RegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import { createDeploymentService } from "../serving/deployments.ts";
import type { Workspace } from "../workspace.ts";
import type { DeploymentPort, MonitorPort } from "./contracts.ts";
import type { LoopPorts } from "./observe.ts";

export function createLoopPorts(ws: Workspace, events: RegistryEvents = createRegistryEvents()): LoopPorts {
  const deployments: DeploymentPort = createDeploymentService(ws);
  const service = createMonitorService(ws);
  const monitors: MonitorPort = {
    list: async () => (await service.list()).map((m) => m.spec),
    // The file's monitor section is validated against the same contract; the service validates again.
    upsert: (spec) => service.upsert(spec as Parameters<typeof service.upsert>[0]),
    remove: (name) => service.remove(name),
  };
  return { registry: createRegistryService({ ...ws, events }), deployments, monitors };
}
