// Test helper: checks Kubernetes objects against the official OpenAPI schemas (kubernetes-models), strictly like kubeconform --strict, plus the cross-object rules a working serving rollout needs.
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Service } from "kubernetes-models/v1/Service";

/** The official validator of each kind loopml writes, by "apiVersion/kind". */
const OFFICIAL: Record<string, { prototype: { validate(): void } }> = {
  "apps/v1/Deployment": Deployment,
  "v1/Service": Service,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

type Json = Record<string, unknown>;

/**
 * What is wrong with one object by the Kubernetes API's own schema: ajv's messages (types, formats such as
 * quantities, enums, required fields) and every field the schema does not declare.
 *
 * The official schemas allow unknown fields (the API server drops them silently, which is how a misspelled
 * `readinesProbe` ships unnoticed). kubernetes-models' validators are ajv standalone code that reads every
 * property its schema declares (`data.readinessProbe`, and each entry of a map such as `labels`), so a field
 * the validator never read is one the schema does not know: strictness derived from the official schema,
 * with no hand-written field list.
 */
export function officialSchemaProblems(obj: unknown): string[] {
  const o = obj as Json;
  const model = OFFICIAL[`${String(o.apiVersion)}/${String(o.kind)}`];
  if (!model)
    return [`no official schema here for apiVersion ${String(o.apiVersion)} kind ${String(o.kind)}`];
  const reads = new Map<object, Set<string>>();
  try {
    model.prototype.validate.call(recordReads(obj, reads, new WeakMap()));
  } catch (e) {
    return [(e as Error).message];
  }
  return unreadFields(obj, reads, "");
}

function recordReads(
  value: unknown,
  reads: Map<object, Set<string>>,
  proxies: WeakMap<object, object>,
): unknown {
  if (value === null || typeof value !== "object") return value;
  const known = proxies.get(value);
  if (known) return known;
  const read = new Set<string>();
  reads.set(value, read);
  const proxy = new Proxy(value, {
    get(target, key) {
      if (typeof key === "string") read.add(key);
      return recordReads(Reflect.get(target, key), reads, proxies);
    },
  });
  proxies.set(value, proxy);
  return proxy;
}

function unreadFields(value: unknown, reads: Map<object, Set<string>>, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => unreadFields(v, reads, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  const read = reads.get(value);
  return Object.entries(value).flatMap(([k, v]) => {
    const at = path ? `${path}.${k}` : k;
    return read?.has(k) ? unreadFields(v, reads, at) : [`${at}: unknown field (not in the official schema)`];
  });
}

// Name rules the API server applies beyond the OpenAPI schema (k8s.io/apimachinery/pkg/util/validation).
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/; // Service names
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/; // IANA_SVC_NAME, at most 15 characters

function at(value: unknown, ...path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v;
}

function subsetProblem(what: string, selector: unknown, labels: unknown): string[] {
  const s = (selector ?? {}) as Record<string, string>;
  const l = (labels ?? {}) as Record<string, string>;
  if (Object.keys(s).length === 0) return [`${what} is empty: it would select every pod`];
  const missing = Object.entries(s).filter(([k, v]) => l[k] !== v);
  return missing.length
    ? [`${what} ${JSON.stringify(s)} does not match the pod labels ${JSON.stringify(l)}`]
    : [];
}

/**
 * What would keep a Deployment + Service + HorizontalPodAutoscaler from working together once applied:
 * API-server name and label rules, selectors that miss the pods, ports and probes that name no container
 * port, an autoscaler aimed elsewhere or scaling on a CPU request that is not set.
 */
export function servingSetProblems(objects: readonly unknown[]): string[] {
  const byKind = (kind: string) => objects.filter((o) => at(o, "kind") === kind);
  const [deployment, ...moreDeployments] = byKind("Deployment");
  if (!deployment || moreDeployments.length) return ["expected exactly one Deployment"];
  const problems: string[] = [];
  for (const o of objects) {
    const name = String(at(o, "metadata", "name"));
    const kind = String(at(o, "kind"));
    const rule = kind === "Service" ? DNS1035_LABEL : DNS1123_SUBDOMAIN;
    if (!rule.test(name) || name.length > (kind === "Service" ? 63 : 253))
      problems.push(`${kind} name "${name}" is not a valid Kubernetes name`);
    for (const labels of [at(o, "metadata", "labels"), at(o, "spec", "template", "metadata", "labels")]) {
      for (const [k, v] of Object.entries((labels ?? {}) as Record<string, string>))
        if (!LABEL_VALUE.test(v) || v.length > 63)
          problems.push(`${kind} label ${k}="${v}" is not a valid value`);
    }
  }
  const podLabels = at(deployment, "spec", "template", "metadata", "labels");
  problems.push(
    ...subsetProblem("Deployment selector", at(deployment, "spec", "selector", "matchLabels"), podLabels),
  );
  const containers = (at(deployment, "spec", "template", "spec", "containers") ?? []) as Json[];
  const ports = containers.flatMap((c) => (c.ports ?? []) as { name?: string; containerPort: number }[]);
  for (const p of ports)
    if (p.name !== undefined && (!PORT_NAME.test(p.name) || p.name.length > 15))
      problems.push(`container port name "${p.name}" is not a valid port name`);
  const namesPort = (ref: unknown) =>
    ports.some((p) => (typeof ref === "string" ? p.name === ref : p.containerPort === ref));
  for (const c of containers) {
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const ref = at(c, probe, "httpGet", "port");
      if (at(c, probe) !== undefined && !namesPort(ref))
        problems.push(`${probe} port ${JSON.stringify(ref)} is not a port of container ${String(c.name)}`);
    }
  }
  for (const service of byKind("Service")) {
    problems.push(...subsetProblem("Service selector", at(service, "spec", "selector"), podLabels));
    for (const p of (at(service, "spec", "ports") ?? []) as Json[])
      if (!namesPort(p.targetPort ?? p.port))
        problems.push(`Service targetPort ${JSON.stringify(p.targetPort ?? p.port)} is not a container port`);
  }
  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    const target = at(hpa, "spec", "scaleTargetRef") as Json;
    if (
      target.apiVersion !== "apps/v1" ||
      target.kind !== "Deployment" ||
      target.name !== at(deployment, "metadata", "name")
    )
      problems.push(`HorizontalPodAutoscaler scales ${JSON.stringify(target)}, not the Deployment`);
    if (Number(at(hpa, "spec", "minReplicas") ?? 1) > Number(at(hpa, "spec", "maxReplicas")))
      problems.push("HorizontalPodAutoscaler minReplicas is above maxReplicas");
    const onCpu = ((at(hpa, "spec", "metrics") ?? []) as Json[]).some(
      (m) => at(m, "resource", "name") === "cpu" && at(m, "resource", "target", "type") === "Utilization",
    );
    if (onCpu && containers.some((c) => at(c, "resources", "requests", "cpu") === undefined))
      problems.push("HorizontalPodAutoscaler scales on CPU utilization but a container has no CPU request");
  }
  return problems;
}
