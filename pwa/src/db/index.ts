/** The storage layer of the PWA: see README.md in this folder for the contract. */
import { FileStore } from "./files.js";
import { RecordStore } from "./records.js";
import type { TerrainDB } from "./schema.js";
import { SessionStore } from "./session.js";
import type { Vault } from "./vault.js";

export * from "./accounts.js";
export * from "./errors.js";
export * from "./exchange.js";
export * from "./files.js";
export * from "./records.js";
export * from "./schema.js";
export * from "./session.js";
export * from "./specs.js";
export * from "./storage.js";
export * from "./types.js";
export * from "./vault.js";
export type { Sealed } from "./crypto.js";
export { DEFAULT_PBKDF2_ITERATIONS } from "./crypto.js";

/** Everything the UI and the sync need for one signed-in account. */
export interface LocalStore {
  db: TerrainDB;
  vault: Vault;
  records: RecordStore;
  files: FileStore;
  session: SessionStore;
}

export function localStore(db: TerrainDB, vault: Vault, options: { now?: () => number } = {}): LocalStore {
  return {
    db,
    vault,
    records: new RecordStore(db, vault, options),
    files: new FileStore(db, vault, options),
    session: new SessionStore(db, vault),
  };
}
