// Plain data of the data module: datasets, versions, manifests, profiles, diffs. No IO.

export interface Dataset {
  readonly name: string;
  /** Relative to the project folder, "/"-separated. */
  readonly path: string;
  readonly kind: "file" | "folder";
  readonly latestSeq: number;
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface DatasetVersion {
  readonly dataset: string;
  /** 1, 2, 3… per dataset: what `NAME@3` names. */
  readonly seq: number;
  /** The manifest blob's id: equal ids mean equal content. */
  readonly id: string;
  readonly size: number;
  readonly fileCount: number;
  readonly message: string;
  /** The column profile blob of the version's CSV/Parquet files, when it has any. */
  readonly profileId: string | null;
  readonly parentSeq: number | null;
  readonly createdAt: string;
  readonly createdBy: string;
}

/**
 * One file of a version. Its bytes are either a list of chunk blobs, or (small files of a folder)
 * a slice of a pack blob, so that 100k small files are a handful of blobs rather than 100k.
 * `digest` is sha256 over the concatenated 32-byte sha256 digests of its chunks (for a packed
 * file: of its whole content), so it can be checked chunk by chunk without a second full pass.
 */
export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly digest: string;
  readonly chunks?: readonly string[];
  /** Index into Manifest.packs. */
  readonly pack?: number;
  readonly offset?: number;
}

export interface Manifest {
  readonly format: 1;
  readonly kind: "file" | "folder";
  readonly size: number;
  readonly packs: readonly string[];
  /** Sorted by path. */
  readonly files: readonly ManifestFile[];
}

/** Where a file's bytes are, independent of any one manifest (kept in the stat cache). */
export type FileLocation =
  { readonly chunks: readonly string[] } | { readonly pack: string; readonly offset: number };

export type ColumnType = "numeric" | "integer" | "categorical" | "boolean" | "datetime" | "text";

export interface ColumnProfile {
  readonly name: string;
  readonly type: ColumnType;
  /** The engine's type, e.g. BIGINT, VARCHAR, TIMESTAMP. */
  readonly sourceType: string;
  readonly count: number;
  readonly missing: number;
  /** HyperLogLog estimate. */
  readonly distinct: number;
  readonly min?: number | string;
  readonly max?: number | string;
  readonly mean?: number;
  readonly std?: number;
  /** p01, p05, p25, p50, p75, p95, p99 for numeric columns. */
  readonly quantiles?: Readonly<Record<string, number>>;
  /** Equal-width bins over [min, max]: edges has bins+1 entries. */
  readonly histogram?: { readonly edges: readonly number[]; readonly counts: readonly number[] };
  /** Most frequent values, most frequent first. */
  readonly top?: readonly { readonly value: string; readonly count: number }[];
}

export interface TableProfile {
  readonly rows: number;
  readonly columns: readonly ColumnProfile[];
}

/** Profiles of a version's tabular files, by file path. */
export interface VersionProfile {
  readonly format: 1;
  readonly tables: Readonly<Record<string, TableProfile>>;
}

export interface FileChange {
  readonly path: string;
  readonly sizeBefore?: number;
  readonly sizeAfter?: number;
}

export interface ColumnChange {
  readonly column: string;
  readonly change: "added" | "removed" | "retyped" | "stats";
  readonly typeBefore?: string;
  readonly typeAfter?: string;
  /** Statistic name → [before, after] for the ones that moved. */
  readonly stats?: Readonly<Record<string, readonly [number | string | null, number | string | null]>>;
}

export interface TableChange {
  readonly path: string;
  readonly rowsBefore: number | null;
  readonly rowsAfter: number | null;
  readonly columns: readonly ColumnChange[];
}

export interface VersionDiff {
  readonly from: string;
  readonly to: string;
  readonly added: readonly FileChange[];
  readonly removed: readonly FileChange[];
  readonly changed: readonly FileChange[];
  readonly unchanged: number;
  readonly tables: readonly TableChange[];
}

export interface DataStatus {
  readonly dataset: string;
  readonly path: string;
  /** The version on disk according to the pointer file (the last add or checkout), else the latest. */
  readonly version: string;
  readonly seq: number;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly modified: readonly string[];
  readonly unchanged: number;
  readonly clean: boolean;
}

/** The pointer file `NAME.loopml.json` committed to git beside the (ignored) data. */
export interface PointerFile {
  readonly dataset: string;
  readonly version: string;
  readonly seq: number;
  readonly path: string;
  readonly size: number;
  readonly files: number;
  /** The version's column profile blob, so a pull can bring it along. */
  readonly profile?: string;
}
