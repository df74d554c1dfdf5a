// The persistence contracts: a metadata store (SQL through one Kysely schema) and a content-addressed blob store.
import type { Readable } from "node:stream";
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

export type { Database };

export type Dialect = "sqlite" | "postgres";

/**
 * Metric points column by column, as the batching client buffers them: each distinct key once and
 * one typed array per column, so a million points are five arrays, not a million objects.
 */
export interface MetricPointColumns {
  readonly keys: readonly string[];
  /** Per point, an index into `keys`. */
  readonly key: Uint32Array;
  /** NaN and ±Infinity are valid values. */
  readonly value: Float64Array;
  readonly step: Float64Array;
  /** Milliseconds since the epoch. */
  readonly timestamp: Float64Array;
}

/**
 * Runs, models, datasets, the audit log… live here, in one SQL schema shared by every backend.
 * Domain services read through `db` and write through `transaction`, which is the only way to
 * group a change with its audit event.
 *
 * @example
 * const store = await openStore("sqlite:.loopml/loopml.db");
 * await store.transaction(async (tx) => {
 *   await tx.insertInto("meta").values({ key: "k", value: "v" }).execute();
 * });
 */
export interface MetadataStore {
  readonly dialect: Dialect;
  /** Where the store lives, with any password removed: safe to print. */
  readonly location: string;
  /** For reads. Writes that must be atomic go through `transaction`. */
  readonly db: Kysely<Database>;
  /**
   * Runs `fn` in one serialisable write transaction: it commits when `fn` resolves and rolls back
   * when it throws. Transactions are serialisable (SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE,
   * re-running `fn` on a serialization failure), so read-then-write inside is safe. `fn` may run more
   * than once: keep side effects outside the database out of it.
   */
  transaction<T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * Appends metric points to run_metrics inside `tx` (a transaction from `transaction`) by the
   * backend's fastest path: one reused prepared statement on SQLite, one unnest() INSERT on
   * PostgreSQL. NaN is stored as value 0 with is_nan = 1; ±Infinity as such. Summaries are the
   * caller's business.
   */
  insertMetricPoints(tx: Kysely<Database>, runId: string, points: MetricPointColumns): Promise<void>;
  /** The number of the newest migration applied. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

export interface BlobInfo {
  /** sha256 of the content, 64 lowercase hex characters. */
  readonly id: string;
  readonly size: number;
  /** False when the blob was already stored (nothing was written). */
  readonly created: boolean;
}

export interface BlobWrite {
  /** sha256 of `bytes`, 64 lowercase hex characters. */
  readonly id: string;
  readonly bytes: Uint8Array;
}

/**
 * Immutable, content-addressed bytes: a blob's id is the sha256 of its content. Writing the same
 * content twice stores it once; reading verifies the hash and fails with INTERNAL ("corrupt blob")
 * when the bytes do not match their id.
 *
 * @example
 * const blobs = await openBlobs("file:.loopml/objects");
 * const { id } = await blobs.putFile("data.csv");
 * blobs.get(id).pipe(createWriteStream("copy.csv"));
 */
export interface BlobStore {
  /** Where the blobs live, safe to print. */
  readonly location: string;
  /** Streams `source` in (never whole in memory) and stores it under its hash. */
  put(source: Readable | Uint8Array): Promise<BlobInfo>;
  /** Like put, for a file on disk. */
  putFile(path: string): Promise<BlobInfo>;
  /**
   * Stores a batch of in-memory blobs whose ids the caller already computed from these very bytes
   * (a chunker that hashed them), returning one BlobInfo per item in order. Backends may trust the
   * ids instead of hashing again and make the batch durable at once (the folder backend syncs once
   * per batch, not per blob); reads still verify every id. Derived from put for backends without it.
   *
   * @example
   * const bytes = Buffer.from("chunk");
   * await blobs.putMany([{ id: sha256Hex(bytes), bytes }]);
   */
  putMany(items: readonly BlobWrite[]): Promise<BlobInfo[]>;
  /** A stream of the blob's bytes that errors (INTERNAL) at its end if they do not hash to `id`, NOT_FOUND if absent. */
  get(id: string): Readable;
  /** The whole blob in memory, verified. For small blobs (manifests, models). */
  getBytes(id: string): Promise<Buffer>;
  /** Size in bytes, or undefined when absent. */
  stat(id: string): Promise<number | undefined>;
  has(id: string): Promise<boolean>;
  /** Every stored id, in no particular order. */
  list(): AsyncIterable<string>;
  /** Removes a blob; removing an absent blob is not an error. */
  delete(id: string): Promise<void>;
  close(): Promise<void>;
}
