// The `schedules:` and `triggers:` sections of loopml.yaml: when a pipeline runs without anyone typing loopml run.
import { LoopmlError } from "../errors.ts";
import { parseCron, type CronSchedule } from "./cron.ts";
import { readYaml } from "./parse.ts";

export interface ScheduleSpec {
  readonly name: string;
  readonly pipeline: string;
  readonly cron: CronSchedule;
}

/** Fires when an audit event with this action (and target prefix) is appended: the hook of the closed loop. */
export interface TriggerSpec {
  readonly name: string;
  readonly pipeline: string;
  readonly action: string;
  readonly targetPrefix?: string;
}

export interface Automation {
  readonly schedules: readonly ScheduleSpec[];
  readonly triggers: readonly TriggerSpec[];
}

type Path = readonly (string | number)[];

/**
 * @example
 * // schedules: { nightly: { pipeline: train, cron: "0 2 * * *", timezone: Europe/Paris } }
 * // triggers:  { fresh-data: { pipeline: train, on: { dataset: flights } } }
 * const { schedules, triggers } = parseAutomationYaml(readFileSync("loopml.yaml", "utf8"));
 */
export function parseAutomationYaml(text: string, file = "loopml.yaml"): Automation {
  const { root, where } = readYaml(text, file);
  const fail = (path: Path, message: string): never => {
    throw new LoopmlError("INVALID_ARGUMENT", `${where(path)}: ${message}`);
  };
  const record = (v: unknown, path: Path): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : fail(path, "must be a mapping.");
  const str = (v: unknown, path: Path, what: string): string =>
    typeof v === "string" && v.trim() !== "" ? v.trim() : fail(path, `must be ${what}.`);
  const known = (d: Record<string, unknown>, keys: readonly string[], path: Path): void => {
    for (const k of Object.keys(d))
      if (!keys.includes(k)) fail([...path, k], `unknown key "${k}" (expected one of: ${keys.join(", ")}).`);
  };

  const schedules: ScheduleSpec[] = [];
  for (const [name, def] of Object.entries(
    root["schedules"] == null ? {} : record(root["schedules"], ["schedules"]),
  )) {
    const path = ["schedules", name];
    const d = record(def, path);
    known(d, ["pipeline", "cron", "timezone"], path);
    const pipeline = str(d["pipeline"], [...path, "pipeline"], "the name of a pipeline");
    const cronText = str(d["cron"], [...path, "cron"], 'a cron expression such as "0 2 * * *"');
    const tz =
      d["timezone"] === undefined ? "UTC" : str(d["timezone"], [...path, "timezone"], "an IANA time zone");
    let cron: CronSchedule;
    try {
      cron = parseCron(cronText, tz);
    } catch (e) {
      return fail([...path, "cron"], (e as Error).message);
    }
    schedules.push({ name, pipeline, cron });
  }

  const triggers: TriggerSpec[] = [];
  for (const [name, def] of Object.entries(
    root["triggers"] == null ? {} : record(root["triggers"], ["triggers"]),
  )) {
    const path = ["triggers", name];
    const d = record(def, path);
    known(d, ["pipeline", "on"], path);
    const pipeline = str(d["pipeline"], [...path, "pipeline"], "the name of a pipeline");
    const on = record(d["on"], [...path, "on"]);
    const onPath = [...path, "on"];
    let t: TriggerSpec;
    if (on["dataset"] !== undefined) {
      known(on, ["dataset"], onPath);
      const ds = str(on["dataset"], [...onPath, "dataset"], "a dataset name");
      t = { name, pipeline, action: "data.version.create", targetPrefix: `dataset:${ds}` };
    } else if (on["model"] !== undefined) {
      known(on, ["model", "event"], onPath);
      const model = str(on["model"], [...onPath, "model"], "a model name");
      const event =
        on["event"] === undefined
          ? "version.create"
          : str(on["event"], [...onPath, "event"], "a registry event");
      t = { name, pipeline, action: `model.${event}`, targetPrefix: `model:${model}` };
    } else if (on["monitor"] !== undefined) {
      known(on, ["monitor"], onPath);
      const monitor = str(on["monitor"], [...onPath, "monitor"], "a monitor name");
      t = { name, pipeline, action: "monitor.alert", targetPrefix: `monitor:${monitor}` };
    } else if (on["event"] !== undefined) {
      known(on, ["event", "target"], onPath);
      const action = str(on["event"], [...onPath, "event"], 'an audit action such as "model.promote"');
      const target =
        on["target"] === undefined ? undefined : str(on["target"], [...onPath, "target"], "a target prefix");
      t = { name, pipeline, action, ...(target !== undefined && { targetPrefix: target }) };
    } else {
      return fail(
        onPath,
        "needs one of: dataset: NAME, model: NAME, monitor: NAME, or event: ACTION (with an optional target:).",
      );
    }
    triggers.push(t);
  }
  return { schedules, triggers };
}
