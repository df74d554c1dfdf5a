// A strict checker of the Prometheus text exposition format (0.0.4), for tests where promtool is not at hand.
// It enforces what `promtool check metrics` rejects or lints: syntax, TYPE/HELP placement, grouping, duplicates, histogram shape, counter names.

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

interface Family {
  type?: string;
  help?: string;
  /** Series seen, as name + canonical labels. */
  series: Set<string>;
  done: boolean;
}

/**
 * Returns the problems found, one line each (empty when the text is valid).
 *
 * @example
 * expect(checkExposition(await (await fetch("/metrics")).text())).toEqual([]);
 */
export function checkExposition(text: string): string[] {
  const problems: string[] = [];
  const families = new Map<string, Family>();
  let current: string | null = null;
  type Histogram = { buckets: [number, number][]; count?: number };
  const histograms = new Map<string, Map<string, Histogram>>();
  if (text !== "" && !text.endsWith("\n")) problems.push("the text does not end with a newline");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();

  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { series: new Set(), done: false }));
    return f;
  };
  const enter = (name: string, at: string): void => {
    if (current !== null && current !== name) family(current).done = true;
    const f = family(name);
    if (f.done) problems.push(`${at}: metric family "${name}" appears in more than one group`);
    current = name;
  };

  lines.forEach((line, i) => {
    const at = `line ${i + 1}`;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) {
        if (/^# (HELP|TYPE)/.test(line)) problems.push(`${at}: malformed ${line.slice(2, 6)} line`);
        return;
      }
      const [, kind, name = "", rest = ""] = m;
      if (!NAME.test(name)) problems.push(`${at}: invalid metric name "${name}"`);
      enter(name, at);
      const f = family(name);
      if (kind === "TYPE") {
        if (f.type !== undefined) problems.push(`${at}: second TYPE line for "${name}"`);
        if (f.series.size > 0) problems.push(`${at}: TYPE for "${name}" after its samples`);
        if (!TYPES.has(rest)) problems.push(`${at}: unknown type "${rest}"`);
        f.type = rest;
        if (rest === "counter" && !name.endsWith("_total"))
          problems.push(`${at}: counter "${name}" should end in _total`);
      } else {
        if (f.help !== undefined) problems.push(`${at}: second HELP line for "${name}"`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, "")))
          problems.push(`${at}: invalid escape in HELP of "${name}"`);
        if (rest.trim() === "") problems.push(`${at}: empty HELP for "${name}"`);
        f.help = rest;
      }
      return;
    }
    // Empty lines are allowed between families (prom-client writes them).
    if (line === "") return;
    const sample = parseSample(line);
    if (typeof sample === "string") {
      problems.push(`${at}: ${sample}`);
      return;
    }
    const { name, labels, value } = sample;
    const base = familyName(name, families);
    enter(base, at);
    const f = family(base);
    if (f.type === undefined) problems.push(`${at}: sample of "${base}" without a TYPE line`);
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(",")}}`;
    if (f.series.has(key)) problems.push(`${at}: duplicate series ${key}`);
    f.series.add(key);
    if (f.type === "counter" && !(value >= 0)) problems.push(`${at}: counter ${key} is ${value}`);
    if (f.type === "histogram") {
      const { le, ...rest } = labels;
      const group = JSON.stringify(Object.entries(rest).sort());
      let byGroup = histograms.get(base);
      if (!byGroup) histograms.set(base, (byGroup = new Map<string, Histogram>()));
      let h = byGroup.get(group);
      if (!h) byGroup.set(group, (h = { buckets: [] }));
      if (name === `${base}_bucket`) {
        if (le === undefined) problems.push(`${at}: bucket of "${base}" without le`);
        else h.buckets.push([le === "+Inf" ? Infinity : Number(le), value]);
      } else if (name === `${base}_count`) h.count = value;
      else if (name !== `${base}_sum`)
        problems.push(`${at}: "${name}" does not belong to histogram "${base}"`);
    }
  });

  for (const [base, groups] of histograms) {
    for (const [group, h] of groups) {
      const where = `histogram "${base}" ${group}`;
      for (let i = 1; i < h.buckets.length; i++) {
        const [prevLe, prevN] = h.buckets[i - 1] as [number, number];
        const [le, n] = h.buckets[i] as [number, number];
        if (!(le > prevLe)) problems.push(`${where}: buckets not in increasing le order`);
        if (n < prevN) problems.push(`${where}: bucket counts decrease`);
      }
      const inf = h.buckets.find(([le]) => le === Infinity);
      if (!inf) problems.push(`${where}: no +Inf bucket`);
      else if (h.count === undefined || inf[1] !== h.count)
        problems.push(`${where}: +Inf bucket differs from _count`);
    }
  }
  return problems;
}

/** The family a sample belongs to: histogram/summary samples carry a suffix. */
function familyName(name: string, families: ReadonlyMap<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const t = families.get(base)?.type;
      if (t === "histogram" || t === "summary") return base;
    }
  }
  return name;
}

function parseSample(line: string): { name: string; labels: Record<string, string>; value: number } | string {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: (-?\d+))?$/.exec(line);
  if (!m) return `not a sample line: ${JSON.stringify(line)}`;
  const [, name = "", labelText, valueText = ""] = m;
  const labels: Record<string, string> = {};
  if (labelText !== undefined) {
    let rest = labelText.slice(1, -1);
    while (rest !== "") {
      const lm = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
      if (!lm) return `malformed labels ${labelText}`;
      const [all, key = "", raw = "", comma] = lm;
      if (!LABEL.test(key) || key.startsWith("__")) return `invalid label name "${key}"`;
      if (key in labels) return `label "${key}" given twice`;
      labels[key] = raw.replace(/\\(.)/g, (_s, c: string) => (c === "n" ? "\n" : c));
      rest = rest.slice(all.length);
      if (comma === "" && rest !== "") return `malformed labels ${labelText}`;
    }
  }
  const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
  if (valueText !== "NaN" && Number.isNaN(value)) return `invalid value "${valueText}"`;
  return { name, labels, value };
}
