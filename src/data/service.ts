// The data service: datasets and their versions over a workspace's stores (add, status, checkout, diff…).
import type { Workspace } from "../workspace.ts";
import { addData, type AddOptions, type AddResult, type DataInternals } from "./add.ts";
import { checkoutData, statusOf, type CheckoutOptions, type CheckoutResult } from "./checkout.ts";
import { diffVersions } from "./diff.ts";
import { gcData, type GcOptions, type GcResult } from "./gc.ts";
import { queryData, type QueryOptions, type QueryResult } from "./query.ts";
import { pullData, pushData, type TransferOptions, type TransferResult } from "./remote.ts";
import { decodeManifest } from "./manifest.ts";
import { listDatasets, listVersions, parseRef, requireDataset, resolveVersion } from "./repo.ts";
import type { DataStatus, Dataset, DatasetVersion, Manifest, VersionDiff, VersionProfile } from "./types.ts";

export interface VersionDetails {
  readonly version: DatasetVersion;
  readonly dataset: Dataset;
  readonly manifest: Manifest;
  readonly profile: VersionProfile | undefined;
}

/**
 * @example
 * const ws = await openWorkspace();
 * const data = createDataService(ws);
 * const { version } = await data.add("data/flights.csv", { name: "flights", message: "January" });
 * console.log(`flights@${version.seq}`, version.id);
 * await data.checkout("flights@1");
 */
export interface DataService {
  /** Snapshots a file or folder inside the project as a new version (none if nothing changed). */
  add(path: string, opts?: AddOptions): Promise<AddResult>;
  datasets(): Promise<Dataset[]>;
  versions(name: string): Promise<DatasetVersion[]>;
  /** NAME, NAME@SEQ, NAME@latest or NAME@ID-PREFIX. */
  resolve(ref: string): Promise<DatasetVersion>;
  show(ref: string): Promise<VersionDetails>;
  /** What changed on disk since the latest version, per dataset (all datasets when no name). */
  status(name?: string): Promise<DataStatus[]>;
  /** Makes the files on disk exactly the version's (the latest when no version is named). */
  checkout(ref: string, opts?: CheckoutOptions): Promise<CheckoutResult>;
  diff(from: string, to: string): Promise<VersionDiff>;
  /** Copies the versions' missing chunks to another blob store (file:… or s3://…). */
  push(remote: string, opts?: TransferOptions): Promise<TransferResult>;
  /** Fetches missing chunks of known versions and of versions named by pointer files. */
  pull(remote: string, opts?: TransferOptions): Promise<TransferResult>;
  /** Deletes chunks that no version references; `keepLast` first drops old versions no model lineage cites. */
  gc(opts?: GcOptions): Promise<GcResult>;
  /** SQL over versions' tables; a dataset's name is its table. */
  query(sql: string, opts?: QueryOptions): Promise<QueryResult>;
  readManifest(this: void, id: string): Promise<Manifest>;
  readProfile(this: void, id: string | null): Promise<VersionProfile | undefined>;
}

export function createDataService(ws: Workspace): DataService {
  const manifests = new Map<string, Manifest>();
  const internals: DataInternals = {
    ws,
    readManifest: async (id) => {
      const hit = manifests.get(id);
      if (hit) return hit;
      const m = decodeManifest(await ws.blobs.getBytes(id), id);
      manifests.set(id, m);
      return m;
    },
    readProfile: async (id) => {
      if (id === null) return undefined;
      return JSON.parse((await ws.blobs.getBytes(id)).toString("utf8")) as VersionProfile;
    },
  };

  async function show(ref: string): Promise<VersionDetails> {
    const r = parseRef(ref);
    const version = await resolveVersion(ws.store.db, r);
    const dataset = await requireDataset(ws.store.db, r.name);
    return {
      version,
      dataset,
      manifest: await internals.readManifest(version.id),
      profile: await internals.readProfile(version.profileId),
    };
  }

  return {
    add: (path, opts) => addData(internals, path, opts),
    datasets: () => listDatasets(ws.store.db),
    versions: async (name) => {
      await requireDataset(ws.store.db, name);
      return listVersions(ws.store.db, name);
    },
    resolve: (ref) => resolveVersion(ws.store.db, parseRef(ref)),
    show,
    status: async (name) => {
      const names = name === undefined ? (await listDatasets(ws.store.db)).map((d) => d.name) : [name];
      const out: DataStatus[] = [];
      for (const n of names) out.push(await statusOf(internals, n));
      return out;
    },
    checkout: (ref, opts) => checkoutData(internals, parseRef(ref), opts),
    diff: async (from, to) => {
      const a = await show(from);
      const bRef = to.includes("@") || from.includes("@") === false ? to : `${parseRef(from).name}@${to}`;
      const b = await show(bRef);
      return diffVersions(
        { label: `${a.dataset.name}@${a.version.seq}`, manifest: a.manifest, profile: a.profile },
        { label: `${b.dataset.name}@${b.version.seq}`, manifest: b.manifest, profile: b.profile },
      );
    },
    push: (remote, opts) => pushData(internals, remote, opts),
    pull: (remote, opts) => pullData(internals, remote, opts),
    gc: (opts) => gcData(internals, opts),
    query: (sql, opts) => queryData(internals, sql, opts),
    readManifest: internals.readManifest,
    readProfile: internals.readProfile,
  };
}
