// The run filter language (a subset of MLflow's): `metrics.auc > 0.9 and params.model = "gbdt"`, parsed without IO.
import { LoopmlError } from "../errors.ts";

export type Entity = "metric" | "param" | "tag" | "attribute";
export type Comparator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE" | "IN" | "NOT IN";

export interface Condition {
  readonly entity: Entity;
  readonly key: string;
  readonly op: Comparator;
  readonly value: string | number | readonly string[];
}

export interface OrderTerm {
  readonly entity: Entity;
  readonly key: string;
  readonly descending: boolean;
}

/** Attributes a filter or ordering may name, with the runs column each maps to. */
export const ATTRIBUTES: Readonly<Record<string, { column: string; numeric: boolean }>> = {
  status: { column: "status", numeric: false },
  start_time: { column: "start_time", numeric: true },
  end_time: { column: "end_time", numeric: true },
  run_name: { column: "name", numeric: false },
  run_id: { column: "id", numeric: false },
  user_id: { column: "user_id", numeric: false },
  parent_run_id: { column: "parent_run_id", numeric: false },
  git_commit: { column: "git_commit", numeric: false },
};

const PREFIXES: Readonly<Record<string, Entity>> = {
  metric: "metric",
  metrics: "metric",
  param: "param",
  params: "param",
  parameter: "param",
  parameters: "param",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
};

type Token =
  | { t: "ident"; v: string }
  | { t: "string"; v: string }
  | { t: "number"; v: number }
  | { t: "op"; v: string }
  | { t: "punct"; v: "(" | ")" | "," };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === "`") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw bad(src, `unterminated ${c} quote at position ${i}`);
      const v = src.slice(i + 1, end);
      // Backticks quote names (metrics.`my key`); quotes after a dot are names too.
      out.push(
        c === "`" || (out.at(-1)?.t === "ident" && (out.at(-1) as { v: string }).v.endsWith("."))
          ? { t: "ident", v }
          : { t: "string", v },
      );
      i = end + 1;
    } else if (c === "(" || c === ")" || c === ",") {
      out.push({ t: "punct", v: c });
      i++;
    } else if ("=!<>".includes(c)) {
      const two = src.slice(i, i + 2);
      if (["!=", "<=", ">=", "=="].includes(two)) {
        out.push({ t: "op", v: two === "==" ? "=" : two });
        i += 2;
      } else if (c === "!") {
        throw bad(src, `"!" must be followed by "=" at position ${i}`);
      } else {
        out.push({ t: "op", v: c });
        i++;
      }
    } else {
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(?![A-Za-z_])/.exec(src.slice(i));
      if (m && (out.at(-1)?.t === "op" || out.at(-1)?.t === "punct")) {
        out.push({ t: "number", v: Number(m[0]) });
        i += m[0].length;
        continue;
      }
      const w = /^[A-Za-z0-9_.\-:/]+/.exec(src.slice(i));
      if (!w) throw bad(src, `unexpected "${c}" at position ${i}`);
      out.push({ t: "ident", v: w[0] });
      i += w[0].length;
    }
  }
  // Join `metrics.` + quoted name into one identifier.
  const joined: Token[] = [];
  for (const tok of out) {
    const prev = joined.at(-1);
    if (tok.t === "ident" && prev?.t === "ident" && prev.v.endsWith(".")) prev.v += tok.v;
    else joined.push(tok);
  }
  return joined;
}

function bad(src: string, why: string): LoopmlError {
  return new LoopmlError(
    "INVALID_ARGUMENT",
    `Invalid run filter ${JSON.stringify(src)}: ${why}. Example: metrics.auc > 0.9 and params.model = "gbdt" and status = "FINISHED".`,
    { filter: src },
  );
}

function splitName(src: string, name: string): { entity: Entity; key: string } {
  const dot = name.indexOf(".");
  if (dot > 0) {
    const entity = PREFIXES[name.slice(0, dot).toLowerCase()];
    if (entity) {
      const key = name.slice(dot + 1);
      if (entity === "attribute" && !(key in ATTRIBUTES)) throw unknownAttribute(src, key);
      return { entity, key };
    }
  }
  if (name in ATTRIBUTES) return { entity: "attribute", key: name };
  throw bad(
    src,
    `"${name}" is not metrics.KEY, params.KEY, tags.KEY or an attribute (${Object.keys(ATTRIBUTES).join(", ")})`,
  );
}

function unknownAttribute(src: string, key: string): LoopmlError {
  return bad(src, `unknown attribute "${key}" (known: ${Object.keys(ATTRIBUTES).join(", ")})`);
}

/** Parses conditions joined by AND. An empty filter is no condition. */
export function parseFilter(src: string | undefined): Condition[] {
  if (src === undefined || src.trim() === "") return [];
  const toks = tokenize(src);
  const out: Condition[] = [];
  let i = 0;
  const next = (): Token | undefined => toks[i++];
  for (;;) {
    const name = next();
    if (name?.t !== "ident") throw bad(src, "expected a name such as metrics.auc");
    const { entity, key } = splitName(src, name.v);
    let opTok = next();
    let op: Comparator;
    if (opTok?.t === "op") op = opTok.v as Comparator;
    else if (opTok?.t === "ident" && ["LIKE", "ILIKE", "IN"].includes(opTok.v.toUpperCase()))
      op = opTok.v.toUpperCase() as Comparator;
    else if (opTok?.t === "ident" && opTok.v.toUpperCase() === "NOT") {
      opTok = next();
      if (opTok?.t !== "ident" || opTok.v.toUpperCase() !== "IN") throw bad(src, 'expected "IN" after "NOT"');
      op = "NOT IN";
    } else throw bad(src, `expected a comparison after ${name.v}`);
    let value: Condition["value"];
    if (op === "IN" || op === "NOT IN") {
      if (next()?.t !== "punct") throw bad(src, `expected "(" after ${op}`);
      const list: string[] = [];
      for (;;) {
        const v = next();
        if (v?.t !== "string" && v?.t !== "number") throw bad(src, "expected a quoted value in the list");
        list.push(String(v.v));
        const sep = next();
        if (sep?.t === "punct" && sep.v === ")") break;
        if (sep?.t !== "punct" || sep.v !== ",") throw bad(src, 'expected "," or ")" in the list');
      }
      value = list;
    } else {
      const v = next();
      if (v?.t !== "string" && v?.t !== "number") throw bad(src, `expected a value after ${name.v} ${op}`);
      value = v.v;
    }
    checkCondition(src, entity, key, op, value);
    out.push({ entity, key, op, value });
    const conj = next();
    if (conj === undefined) break;
    if (conj.t !== "ident" || conj.v.toUpperCase() !== "AND")
      throw bad(src, 'conditions are joined with "and" (OR is not supported)');
  }
  return out;
}

function checkCondition(
  src: string,
  entity: Entity,
  key: string,
  op: Comparator,
  value: Condition["value"],
): void {
  const numeric = entity === "metric" || (entity === "attribute" && ATTRIBUTES[key]?.numeric === true);
  if (numeric) {
    if (typeof value !== "number")
      throw bad(src, `${entity === "metric" ? "metrics." : ""}${key} compares with a number`);
    if (["LIKE", "ILIKE", "IN", "NOT IN"].includes(op))
      throw bad(src, `${op} does not apply to the number ${key}`);
  } else if (typeof value === "number") {
    throw bad(src, `${entity}s.${key} compares with a quoted string`);
  }
}

/** `metrics.auc DESC`, `start_time`, `params.lr ASC`. */
export function parseOrderBy(terms: readonly string[] | undefined): OrderTerm[] {
  return (terms ?? []).map((term) => {
    const m = /^\s*(.+?)(?:\s+(ASC|DESC))?\s*$/i.exec(term);
    if (!m?.[1]) throw bad(term, "expected NAME [ASC|DESC]");
    const name = m[1].replace(/`/g, "").replace(/"/g, "");
    const { entity, key } = splitName(term, name);
    return { entity, key, descending: m[2]?.toUpperCase() === "DESC" };
  });
}
