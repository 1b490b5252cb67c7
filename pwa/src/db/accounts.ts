/**
 * One database per account and server, so that a new user on a shared device never sees the previous
 * user's data; a small directory database lists the accounts known on this device (for the sign-in
 * screen). Logout deletes the account's database, refused while records are unsent and not exported.
 */
import { Dexie, type Table } from "dexie";
import { sha256Hex, utf8 } from "./crypto.js";
import { UnsentRecordsError } from "./errors.js";
import { deleteTerrainDB, type OpenOptions, type TerrainDB } from "./schema.js";
import { META_KEYS } from "./session.js";

export interface AccountEntry {
  dbName: string;
  server: string;
  accountId: number;
  email: string;
  displayName: string;
  lastUsedAt: number;
}

export const DIRECTORY_DB_NAME = "terrain-accounts";

function normaliseServer(server: string): string {
  return server.trim().replace(/\/+$/, "").toLowerCase();
}

/** "terrain-<24 hex>": stable for a server and account id, reveals neither. */
export async function databaseNameFor(server: string, accountId: number): Promise<string> {
  const digest = await sha256Hex(utf8(`${normaliseServer(server)}|${String(accountId)}`));
  return `terrain-${digest.slice(0, 24)}`;
}

class DirectoryDB extends Dexie {
  declare accounts: Table<AccountEntry, string>;

  constructor(name: string, options: OpenOptions) {
    const dexieOptions: NonNullable<ConstructorParameters<typeof Dexie>[1]> = {};
    if (options.indexedDB) dexieOptions.indexedDB = options.indexedDB;
    if (options.IDBKeyRange) dexieOptions.IDBKeyRange = options.IDBKeyRange;
    super(name, dexieOptions);
    this.version(1).stores({ accounts: "dbName, lastUsedAt" });
  }
}

export class AccountDirectory {
  readonly #db: DirectoryDB;

  constructor(options: OpenOptions & { name?: string } = {}) {
    this.#db = new DirectoryDB(options.name ?? DIRECTORY_DB_NAME, options);
  }

  /** Most recently used first. */
  async list(): Promise<AccountEntry[]> {
    return (await this.#db.accounts.orderBy("lastUsedAt").reverse().toArray());
  }

  async remember(entry: AccountEntry): Promise<void> {
    await this.#db.accounts.put(entry);
  }

  async forget(dbName: string): Promise<void> {
    await this.#db.accounts.delete(dbName);
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * Throws UnsentRecordsError when records the server has not acknowledged were changed after the last
 * export (or never exported).
 */
export async function assertCanLogout(db: TerrainDB): Promise<void> {
  const unsent = await db.records.where("unsent").equals(1).toArray();
  if (unsent.length === 0) return;
  const exportedAt = ((await db.meta.get(META_KEYS.lastExportAt))?.value as number | undefined) ?? null;
  const lastChange = Math.max(...unsent.map((r) => r.updatedAt));
  if (exportedAt === null || exportedAt < lastChange) throw new UnsentRecordsError(unsent.length);
}

/** Logs out: checks, closes and deletes this account's database, and forgets it in the directory. */
export async function logout(
  db: TerrainDB,
  options: OpenOptions & { directory?: AccountDirectory } = {},
): Promise<void> {
  await assertCanLogout(db);
  const name = db.name;
  db.close();
  await deleteTerrainDB(name, options);
  await options.directory?.forget(name);
}
