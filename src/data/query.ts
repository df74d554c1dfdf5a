// data query: SQL (DuckDB) over dataset versions' CSV/Parquet files, without checking them out.
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoopmlError } from "../errors.ts";
import type { DataInternals } from "./add.ts";
import { isTabular, openDuck, quoteIdent, quoteString, readExpression, tableReadError } from "./duck.ts";
import { cacheHit } from "./ingest.ts";
import { locationOf } from "./manifest.ts";
import { listDatasets, loadStatCache, parseRef, requireDataset, resolveVersion } from "./repo.ts";
import type { DatasetVersion, Manifest } from "./types.ts";

export interface QueryOptions {
  /** Versions to query, e.g. ["flights@3"]; other datasets named in the SQL use their latest version. */
  readonly at?: readonly string[];
  /** Write the result as Parquet to this absolute path instead of returning rows. */
  readonly toParquet?: string;
}

export interface QueryResult {
  readonly columns: readonly string[];
  readonly types: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
  /** The versions the query read, as NAME@SEQ. */
  readonly sources: readonly string[];
}

/**
 * Each dataset becomes a view named after it (all its tabular files, unioned by column name), and
 * each file a view "NAME/PATH". Bytes come from the working copy when the stat cache proves it is
 * that version, else from the blob store into a private temp folder.
 */
export async function queryData(
  ctx: DataInternals,
  sqlText: string,
  opts: QueryOptions = {},
): Promise<QueryResult> {
  const { ws } = ctx;
  const pinned = new Map<string, DatasetVersion>();
  for (const ref of opts.at ?? []) {
    const r = parseRef(ref);
    pinned.set(r.name, await resolveVersion(ws.store.db, r));
  }
  for (const ds of await listDatasets(ws.store.db)) {
    if (pinned.has(ds.name)) continue;
    const named = new RegExp(
      `(^|[^A-Za-z0-9_."])${ds.name.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}($|[^A-Za-z0-9_"])|"${ds.name}`,
    );
    if (named.test(sqlText)) pinned.set(ds.name, await resolveVersion(ws.store.db, { name: ds.name }));
  }
  if (pinned.size === 0) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "The query names no dataset. Use a dataset's name as a table, e.g. SELECT count(*) FROM flights",
    );
  }
  const scratch = await mkdtemp(join(tmpdir(), "loopml-query-"));
  const duck = await openDuck();
  try {
    for (const [name, version] of pinned) {
      const manifest = await ctx.readManifest(version.id);
      const files = manifest.files.filter((f) => isTabular(f.path));
      if (files.length === 0) continue;
      const paths: { path: string; abs: string }[] = [];
      for (const f of files)
        paths.push({ path: f.path, abs: await localCopy(ctx, name, manifest, f.path, scratch) });
      for (const p of paths) {
        try {
          await duck.conn.run(
            `CREATE VIEW ${quoteIdent(`${name}/${p.path}`)} AS SELECT * FROM ${readExpression(p.abs, p.path)}`,
          );
        } catch (e) {
          throw tableReadError(e, `${name}/${p.path}`);
        }
      }
      const union = paths
        .map((p) => `SELECT * FROM ${quoteIdent(`${name}/${p.path}`)}`)
        .join(" UNION ALL BY NAME ");
      await duck.conn.run(`CREATE VIEW ${quoteIdent(name)} AS ${union}`);
    }
    const sources = [...pinned.values()].map((v) => `${v.dataset}@${v.seq}`);
    try {
      if (opts.toParquet !== undefined) {
        await duck.conn.run(`COPY (${sqlText}) TO ${quoteString(opts.toParquet)} (FORMAT parquet)`);
        return { columns: [], types: [], rows: [], sources };
      }
      const reader = await duck.conn.runAndReadAll(sqlText);
      return {
        columns: reader.columnNames(),
        types: reader.columnTypes().map(String),
        rows: reader.getRowsJson(),
        sources,
      };
    } catch (e) {
      if (e instanceof LoopmlError) throw e;
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `The query failed: ${(e as Error).message.split("\n")[0]}`,
        undefined,
        {
          cause: e,
        },
      );
    }
  } finally {
    await duck.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function localCopy(
  ctx: DataInternals,
  name: string,
  manifest: Manifest,
  path: string,
  scratch: string,
): Promise<string> {
  const { ws } = ctx;
  const ds = await requireDataset(ws.store.db, name);
  const f = manifest.files.find((x) => x.path === path)!;
  const projectPath = ds.kind === "file" ? ds.path : `${ds.path}/${f.path}`;
  const onDisk = join(ws.config.projectDir, projectPath);
  const st = await stat(onDisk).catch(() => undefined);
  const cached = (await loadStatCache(ws.store.db, { exact: projectPath })).get(projectPath);
  if (st && cacheHit(cached, st) && cached.digest === f.digest) return onDisk;
  const ext = path.slice(path.lastIndexOf("."));
  const out = join(scratch, `${Math.random().toString(36).slice(2)}${ext}`);
  const fh = await open(out, "wx");
  try {
    const loc = locationOf(manifest, f);
    if ("chunks" in loc) {
      for (const id of loc.chunks) for await (const part of ws.blobs.get(id)) await fh.write(part as Buffer);
    } else {
      const pack = await ws.blobs.getBytes(loc.pack);
      await fh.write(pack.subarray(loc.offset, loc.offset + f.size));
    }
  } finally {
    await fh.close();
  }
  return out;
}
