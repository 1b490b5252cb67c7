/**
 * The Dexie database and its versioned schema. Every version ever shipped stays declared here, in
 * order, with its upgrade step: a device may skip versions (Dexie runs each step in turn).
 */
import { Dexie, type Table, type Transaction } from "dexie";
import type { FileChunkRow, FileRow, MetaRow, RecordRow, SiteRow, SpecRow } from "./types.js";

export const SCHEMA_VERSION = 2;

export class TerrainDB extends Dexie {
  // `declare`: class fields would overwrite the tables Dexie defines in its constructor.
  declare meta: Table<MetaRow, string>;
  declare sites: Table<SiteRow, string>;
  declare specs: Table<SpecRow, [string, number]>;
  declare records: Table<RecordRow, string>;
  declare files: Table<FileRow, string>;
  declare fileChunks: Table<FileChunkRow, [string, number]>;

  constructor(name: string, options: OpenOptions = {}) {
    super(name, dexieOptions(options));
    declareVersions(this, options.upToVersion ?? SCHEMA_VERSION);
  }
}

export interface OpenOptions {
  /** An IndexedDB implementation (tests: fake-indexeddb's); default: the global one. */
  indexedDB?: IDBFactory;
  IDBKeyRange?: typeof IDBKeyRange;
  /** Tests only: declare the schema up to this version (to build an old database). */
  upToVersion?: number;
}

function dexieOptions(options: OpenOptions): ConstructorParameters<typeof Dexie>[1] {
  const out: NonNullable<ConstructorParameters<typeof Dexie>[1]> = {};
  if (options.indexedDB) out.indexedDB = options.indexedDB;
  if (options.IDBKeyRange) out.IDBKeyRange = options.IDBKeyRange;
  return out;
}

/** Version 1 as shipped first. */
const V1 = {
  meta: "key",
  sites: "code",
  specs: "[name+version], name, status",
  records: "id, status, [status+queueSeq], siteId, spec, updatedAt",
  files: "sha256, *recordIds, uploadState",
  fileChunks: "[sha256+index], sha256",
};

/**
 * Version 2: `unsent` (0/1, computed from the status) with `[siteId+unsent]`, so that the home screen
 * counts unsent records per site without decrypting anything, and `[spec+version]` for "records of a
 * closed version".
 */
const V2 = {
  ...V1,
  records: "id, status, [status+queueSeq], siteId, spec, updatedAt, unsent, [siteId+unsent], [spec+version]",
};

export function unsentFlag(status: RecordRow["status"]): 0 | 1 {
  return status === "sent" ? 0 : 1;
}

function declareVersions(db: Dexie, upTo: number): void {
  db.version(1).stores(V1);
  if (upTo < 2) return;
  db.version(2)
    .stores(V2)
    .upgrade(async (tx: Transaction) => {
      await tx
        .table<RecordRow, string>("records")
        .toCollection()
        .modify((row) => {
          row.unsent = unsentFlag(row.status);
          // v1 rows had no byte estimate: 0 means "measure when batching".
          if (typeof row.wireBytes !== "number") row.wireBytes = 0;
        });
    });
}

export function openTerrainDB(name: string, options: OpenOptions = {}): TerrainDB {
  return new TerrainDB(name, options);
}

/** Deletes a whole database (logout, or a user switch after export). */
export async function deleteTerrainDB(name: string, options: OpenOptions = {}): Promise<void> {
  await new Dexie(name, dexieOptions(options)).delete();
}
