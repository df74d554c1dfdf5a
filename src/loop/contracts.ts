// The deployment and monitor services as the loop uses them (contracts 3 and 4), so plan/apply can run
// against the real services or in-memory fakes alike.

/** Contract 3 (src/serving/deployments.ts). */
export interface DeploymentSpec {
  readonly name: string;
  /** "name@alias". */
  readonly model: string;
  readonly canary?: { readonly model: string; readonly weight: number };
  readonly shadow?: { readonly model: string };
  readonly rollback?: { readonly maxErrorRateDelta: number; readonly maxP99Ratio: number };
  readonly logging?: { readonly sampleRate: number };
}

/** Contract 4 (src/monitoring/monitors.ts); alert rules are the monitoring module's own shape. */
export interface MonitorSpec {
  readonly name: string;
  readonly deployment?: string;
  readonly model?: string;
  readonly dataset?: string;
  readonly reference: string;
  readonly window: { readonly rows?: number; readonly span?: string };
  readonly tests?: Readonly<Record<string, string>>;
  readonly driftShare?: number;
  readonly schedule?: string;
  readonly alerts?: readonly unknown[];
}

export interface DeploymentPort {
  list(): Promise<readonly DeploymentSpec[]>;
  upsert(spec: DeploymentSpec): Promise<unknown>;
  remove(name: string): Promise<unknown>;
}

export interface MonitorPort {
  list(): Promise<readonly MonitorSpec[]>;
  upsert(spec: MonitorSpec): Promise<unknown>;
  remove(name: string): Promise<unknown>;
}

/** An in-memory service, for tests and for a process that has no real one yet. */
export function createMemoryPort<S extends { readonly name: string }>(
  initial: readonly S[] = [],
): { list(): Promise<S[]>; upsert(spec: S): Promise<S>; remove(name: string): Promise<void> } {
  const items = new Map(initial.map((s) => [s.name, s]));
  return {
    list: () => Promise.resolve([...items.values()]),
    upsert: (spec) => {
      items.set(spec.name, spec);
      return Promise.resolve(spec);
    },
    remove: (name) => {
      items.delete(name);
      return Promise.resolve();
    },
  };
}
