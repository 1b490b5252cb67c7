/**
 * The server session and small settings kept in `meta`: who is signed in on this database, the device
 * token (encrypted with the vault), the current site, the pull cursor, the outbox sequence.
 */
import type { Sealed } from "./crypto.js";
import type { TerrainDB } from "./schema.js";
import type { Vault } from "./vault.js";

export interface SessionInfo {
  /** Server base URL, e.g. "https://terrain.example.org". */
  server: string;
  accountId: number;
  email: string;
  displayName: string;
  role: string;
  language: "fr" | "en";
  /** Site codes of the account (from /api/v1/me). */
  sites: string[];
  deviceName: string;
  deviceTokenId: number | null;
  signedInAt: number;
}

const K = {
  session: "session",
  deviceToken: "deviceToken",
  tokenRevoked: "tokenRevoked",
  currentSite: "currentSite",
  cursor: "pullCursor",
  queueSeq: "queueSeq",
  lastExportAt: "lastExportAt",
  lastPullAt: "lastPullAt",
} as const;

async function get<T>(db: TerrainDB, key: string): Promise<T | null> {
  const row = await db.meta.get(key);
  return row === undefined ? null : (row.value as T);
}

async function put(db: TerrainDB, key: string, value: unknown): Promise<void> {
  await db.meta.put({ key, value });
}

export class SessionStore {
  constructor(
    readonly db: TerrainDB,
    readonly vault: Vault,
  ) {}

  async get(): Promise<SessionInfo | null> {
    return get<SessionInfo>(this.db, K.session);
  }

  /** After a successful password login: stores who and the device token (encrypted). */
  async signIn(info: SessionInfo, deviceToken: string): Promise<void> {
    const sealed = await this.vault.seal(deviceToken, K.deviceToken);
    await this.db.transaction("rw", this.db.meta, async () => {
      await put(this.db, K.session, info);
      await put(this.db, K.deviceToken, sealed);
      await this.db.meta.delete(K.tokenRevoked);
    });
  }

  /** The device token, or null when none / revoked (needs the vault unlocked). */
  async deviceToken(): Promise<string | null> {
    if (await get<boolean>(this.db, K.tokenRevoked)) return null;
    const sealed = await get<Sealed>(this.db, K.deviceToken);
    return sealed ? ((await this.vault.open(sealed, K.deviceToken)) as string) : null;
  }

  /** The server said 401: keep every record, forget the token until the next password login. */
  async markTokenRevoked(): Promise<void> {
    await put(this.db, K.tokenRevoked, true);
  }

  async tokenRevoked(): Promise<boolean> {
    return (await get<boolean>(this.db, K.tokenRevoked)) === true;
  }

  async currentSite(): Promise<string | null> {
    return get<string>(this.db, K.currentSite);
  }

  async setCurrentSite(code: string | null): Promise<void> {
    if (code === null) await this.db.meta.delete(K.currentSite);
    else await put(this.db, K.currentSite, code);
  }

  async pullCursor(): Promise<string | null> {
    return get<string>(this.db, K.cursor);
  }

  async setPullCursor(cursor: string | null): Promise<void> {
    if (cursor === null) await this.db.meta.delete(K.cursor);
    else await put(this.db, K.cursor, cursor);
  }

  async lastPullAt(): Promise<number | null> {
    return get<number>(this.db, K.lastPullAt);
  }

  async setLastPullAt(at: number): Promise<void> {
    await put(this.db, K.lastPullAt, at);
  }

  async lastExportAt(): Promise<number | null> {
    return get<number>(this.db, K.lastExportAt);
  }
}

export const META_KEYS = K;

/** The next outbox sequence number; call inside a rw transaction that includes `db.meta`. */
export async function nextQueueSeq(db: TerrainDB): Promise<number> {
  const current = (await get<number>(db, K.queueSeq)) ?? 0;
  await put(db, K.queueSeq, current + 1);
  return current + 1;
}

export async function markExported(db: TerrainDB, at: number): Promise<void> {
  await put(db, K.lastExportAt, at);
}
