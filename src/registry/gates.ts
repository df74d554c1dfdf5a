// Promotion gate evaluation: pure functions over the candidate version, the current holder and the policy.
import { LoopmlError } from "../errors.ts";
import {
  DEFAULT_POLICY,
  type GatePolicy,
  type GateReport,
  type LatencyBudget,
  type MetricRule,
  type ModelVersion,
  type RuleResult,
  type Signature,
} from "./types.ts";

const OPS: Readonly<Record<MetricRule["op"], (a: number, b: number) => boolean>> = {
  "<=": (a, b) => a <= b,
  "<": (a, b) => a < b,
  ">=": (a, b) => a >= b,
  ">": (a, b) => a > b,
};

export function describeRule(r: MetricRule, alias: string): string {
  const factor = r.factor ?? 1;
  return `${r.metric} ${r.op} ${r.against ?? alias}'s${factor === 1 ? "" : ` × ${factor}`}${r.sameDatasetContext ? ` on the same ${r.sameDatasetContext} dataset version` : ""}`;
}

/** Evaluates every rule; holders are looked up by alias name (absent when nobody holds it). */
export function evaluateGate(
  candidate: ModelVersion,
  alias: string,
  policy: GatePolicy,
  holders: ReadonlyMap<string, ModelVersion>,
): GateReport {
  const rules: RuleResult[] = [];
  for (const r of policy.metricRules) {
    const name = describeRule(r, alias);
    const holder = holders.get(r.against ?? alias);
    if (!holder || holder.version === candidate.version) {
      rules.push({ rule: name, passed: true, detail: `no other version holds @${r.against ?? alias}` });
      continue;
    }
    const mine = candidate.metrics[r.metric];
    const theirs = holder.metrics[r.metric];
    if (mine === undefined || theirs === undefined) {
      rules.push({
        rule: name,
        passed: false,
        detail: `${mine === undefined ? `v${candidate.version}` : `v${holder.version}`} has no "${r.metric}" metric`,
      });
      continue;
    }
    if (r.sameDatasetContext !== undefined) {
      const a = datasetsFor(candidate, r.sameDatasetContext);
      const b = datasetsFor(holder, r.sameDatasetContext);
      if (a === "" || a !== b) {
        rules.push({
          rule: name,
          passed: false,
          detail: `${r.sameDatasetContext} datasets differ: v${candidate.version} [${a}] vs v${holder.version} [${b}]`,
        });
        continue;
      }
    }
    const bound = theirs * (r.factor ?? 1);
    const ok = OPS[r.op](mine, bound);
    rules.push({
      rule: name,
      passed: ok,
      detail: `v${candidate.version} ${r.metric}=${mine} vs bound ${bound} (v${holder.version} ${r.metric}=${theirs})`,
    });
  }
  if (policy.schemaCompatible) {
    const holder = holders.get(alias);
    if (!holder || holder.version === candidate.version || !holder.signature) {
      rules.push({
        rule: "schema compatible",
        passed: true,
        detail: `no signature to compare against at @${alias}`,
      });
    } else if (!candidate.signature) {
      rules.push({
        rule: "schema compatible",
        passed: false,
        detail: `v${candidate.version} has no signature`,
      });
    } else {
      const problems = schemaProblems(holder.signature, candidate.signature);
      rules.push({
        rule: "schema compatible",
        passed: problems.length === 0,
        detail:
          problems.length === 0
            ? `v${candidate.version} accepts what v${holder.version} did`
            : problems.join("; "),
      });
    }
  }
  return { passed: rules.every((r) => r.passed), rules };
}

function datasetsFor(v: ModelVersion, context: string): string {
  return v.datasets
    .filter((d) => d.context === context)
    .map((d) => `${d.dataset}@${d.version}`)
    .sort()
    .join(",");
}

/** The new model must need no input the old one did not get, with the same types, and still produce the old outputs. */
export function schemaProblems(old: Signature, next: Signature): string[] {
  const problems: string[] = [];
  const oldIn = new Map(old.inputs.map((c) => [c.name, c]));
  for (const c of next.inputs) {
    const o = oldIn.get(c.name);
    if (!o && !c.optional) problems.push(`requires new input "${c.name}"`);
    else if (o && o.type !== c.type) problems.push(`input "${c.name}" changed type ${o.type} → ${c.type}`);
  }
  const nextOut = new Map(next.outputs.map((c) => [c.name, c]));
  for (const o of old.outputs) {
    const c = nextOut.get(o.name);
    if (!c) problems.push(`no longer outputs "${o.name}"`);
    else if (c.type !== o.type) problems.push(`output "${o.name}" changed type ${o.type} → ${c.type}`);
  }
  return problems;
}

/** Validates a policy given by a user (loopml.yaml, CLI, HTTP), filling defaults. */
export function parsePolicy(input: unknown): GatePolicy {
  const bad = (why: string): never => {
    throw new LoopmlError("INVALID_ARGUMENT", `Invalid promotion policy: ${why}.`, {
      policy: input as never,
    });
  };
  if (input === undefined || input === null) return DEFAULT_POLICY;
  if (typeof input !== "object" || Array.isArray(input)) return bad("expected an object");
  const p = input as Record<string, unknown>;
  const strings = (v: unknown, field: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && /^[A-Za-z0-9_-]{1,100}$/.test(x))) {
      return bad(`${field} must be a list of alias names`);
    }
    return v as string[];
  };
  const rules = p["metricRules"] ?? [];
  if (!Array.isArray(rules)) return bad("metricRules must be a list");
  const metricRules = rules.map((r: unknown, i): MetricRule => {
    const o = (r ?? {}) as Record<string, unknown>;
    if (typeof o["metric"] !== "string" || o["metric"] === "")
      bad(`metricRules[${i}].metric must be a metric name`);
    if (typeof o["op"] !== "string" || !(o["op"] in OPS))
      bad(`metricRules[${i}].op must be one of <=, <, >=, >`);
    if (o["factor"] !== undefined && (typeof o["factor"] !== "number" || !Number.isFinite(o["factor"]))) {
      bad(`metricRules[${i}].factor must be a finite number`);
    }
    return {
      metric: o["metric"] as string,
      op: o["op"] as MetricRule["op"],
      ...(typeof o["factor"] === "number" && { factor: o["factor"] }),
      ...(typeof o["against"] === "string" && { against: o["against"] }),
      ...(typeof o["sameDatasetContext"] === "string" && { sameDatasetContext: o["sameDatasetContext"] }),
    };
  });
  let latencyBudget: LatencyBudget | undefined;
  const lb = p["latencyBudget"];
  if (lb !== undefined && lb !== null) {
    const o = lb as Record<string, unknown>;
    const maxMs = o["maxMs"];
    const batchRows = o["batchRows"] ?? 1000;
    if (typeof maxMs !== "number" || !Number.isFinite(maxMs) || maxMs <= 0)
      bad("latencyBudget.maxMs must be a positive number of milliseconds");
    if (
      typeof batchRows !== "number" ||
      !Number.isSafeInteger(batchRows) ||
      batchRows < 1 ||
      batchRows > 1_000_000
    )
      bad("latencyBudget.batchRows must be a whole number from 1 to 1,000,000");
    latencyBudget = { maxMs: maxMs as number, batchRows: batchRows as number };
  }
  return {
    metricRules,
    ...(latencyBudget !== undefined && { latencyBudget }),
    schemaCompatible: p["schemaCompatible"] === undefined ? true : p["schemaCompatible"] === true,
    approvalFor: strings(p["approvalFor"], "approvalFor"),
    protectedAliases: strings(p["protectedAliases"], "protectedAliases"),
  };
}
