import "fake-indexeddb/auto";
import type { LocalStore } from "../../src/db/index.js";
import { SyncApi, SyncEngine, signIn } from "../../src/sync/index.js";
import { DRAFT, FAST, uniqueName } from "../db/helpers.js";
import { FakeServer } from "./fake-server.js";

export async function setup(options: { now?: () => number } = {}) {
  const server = new FakeServer();
  const api = new SyncApi({ baseUrl: "https://terrain.test", fetch: server.fetch });
  const { store } = await signIn({
    api, server: `https://terrain.test/${uniqueName()}`, email: "a@b.c", password: "password-x", deviceName: "Tablette", pin: "1234", vault: FAST,
    ...(options.now ? { now: options.now } : {}),
  });
  const engine = new SyncEngine(store, api, { push: { maxRecords: 2 }, upload: { chunkBytes: 1000 } });
  return { server, api, store, engine };
}

export async function waitingRecords(store: LocalStore, n: number, site = "aire-nord"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const draft = await store.records.createDraft({ ...DRAFT, siteId: site, title: `R${String(i)}`, answers: { i } });
    await store.records.finalise(draft.id);
    ids.push(draft.id);
  }
  return ids;
}
