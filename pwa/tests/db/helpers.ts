import "fake-indexeddb/auto";
import { localStore, openTerrainDB, Vault, type LocalStore, type OpenOptions } from "../../src/db/index.js";

/** Low iterations: tests only (real use keeps the 600,000 default). */
export const FAST = { iterations: 1000 };

let counter = 0;
export function uniqueName(prefix = "test"): string {
  counter += 1;
  return `${prefix}-${String(counter)}-${crypto.randomUUID()}`;
}

export async function newStore(options: { now?: () => number; name?: string; db?: OpenOptions } = {}): Promise<LocalStore> {
  const db = openTerrainDB(options.name ?? uniqueName(), options.db ?? {});
  const vault = await Vault.create(db, { pin: "1234", password: "mot-de-passe-long" }, FAST);
  return localStore(db, vault, options.now ? { now: options.now } : {});
}

export const DRAFT = { spec: "diagnostic_familles", version: 3, kind: "questionnaire", siteId: "aire-nord" } as const;

/** Every stored value of every object store, raw (as IndexedDB holds it), as text. */
export async function rawDump(name: string): Promise<string> {
  const request = indexedDB.open(name);
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    request.onsuccess = () => { resolve(request.result); };
    request.onerror = () => { reject(new Error("open failed")); };
  });
  let text = "";
  for (const storeName of Array.from(db.objectStoreNames)) {
    const all = await new Promise<unknown[]>((resolve, reject) => {
      const req = db.transaction(storeName).objectStore(storeName).getAll();
      req.onsuccess = () => { resolve(req.result as unknown[]); };
      req.onerror = () => { reject(new Error("getAll failed")); };
    });
    text += JSON.stringify(all, (_key, value: unknown) =>
      value instanceof ArrayBuffer || ArrayBuffer.isView(value)
        ? new TextDecoder("latin1").decode(value instanceof ArrayBuffer ? value : new Uint8Array(value.buffer))
        : value,
    );
  }
  db.close();
  return text;
}
