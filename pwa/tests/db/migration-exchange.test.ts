import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import {
  AccountDirectory,
  ExportFileError,
  RecordStore,
  UnsentRecordsError,
  Vault,
  databaseNameFor,
  exportRecords,
  importRecords,
  localStore,
  logout,
  openTerrainDB,
} from "../../src/db/index.js";
import { DRAFT, FAST, newStore, uniqueName } from "./helpers.js";

describe("schema upgrade v1 -> v2", () => {
  it("keeps drafts and outbox records and computes the new field and index", async () => {
    const name = uniqueName("upgrade");
    const v1 = openTerrainDB(name, { upToVersion: 1 });
    const vault = await Vault.create(v1, { pin: "1234", password: "password-x" }, FAST);
    const records = new RecordStore(v1, vault, { now: () => 1000 });
    const draft = await records.createDraft({ ...DRAFT, title: "brouillon", answers: { a: 1 } });
    const first = await records.createDraft({ ...DRAFT, title: "premier" });
    const second = await records.createDraft({ ...DRAFT, title: "second" });
    await records.finalise(first.id);
    await records.finalise(second.id);
    // Rows as version 1 wrote them: no `unsent`.
    await v1.records.toCollection().modify((row) => {
      delete (row as Partial<typeof row>).unsent;
    });
    await v1.records.update(second.id, { status: "sent" });
    v1.close();

    const v2 = openTerrainDB(name);
    await v2.open();
    expect(v2.verno).toBe(2);
    const reopened = await Vault.open(v2, FAST);
    await reopened.unlockWithPin("1234");
    const store = localStore(v2, reopened);
    expect(await store.records.unsentCount("aire-nord")).toBe(2);
    expect((await v2.records.get(second.id))?.unsent).toBe(0);
    expect((await store.records.outbox()).map((r) => r.id)).toEqual([first.id]);
    expect((await store.records.content(draft.id)).answers).toEqual({ a: 1 });
  });
});

describe("export / import", () => {
  it("round-trips unsent records and files, idempotently, and refuses a wrong passphrase", async () => {
    const source = await newStore();
    const a = await source.records.createDraft({ ...DRAFT, title: "A", answers: { q: "réponse A" } });
    const b = await source.records.createDraft({ ...DRAFT, title: "B" });
    await source.files.attach(b.id, "photo", new Blob(["jpeg bytes"], { type: "image/jpeg" }));
    await source.records.finalise(b.id);
    await source.records.finalise(a.id);
    const sent = await source.records.createDraft({ ...DRAFT, title: "déjà envoyée" });
    await source.db.records.update(sent.id, { status: "sent", unsent: 0 });

    const { blob, recordCount } = await exportRecords(source.db, source.vault, "phrase de passe", FAST);
    expect(recordCount).toBe(2);
    expect(await blob.text()).not.toContain("réponse A");

    const target = await newStore();
    await expect(importRecords(target.db, target.vault, blob, "mauvaise")).rejects.toBeInstanceOf(ExportFileError);
    expect(await importRecords(target.db, target.vault, blob, "phrase de passe")).toEqual({ imported: 2, skipped: 0, files: 1 });
    expect(await importRecords(target.db, target.vault, blob, "phrase de passe")).toEqual({ imported: 0, skipped: 2, files: 0 });
    expect((await target.records.outbox()).map((r) => r.id)).toEqual([b.id, a.id]);
    expect((await target.records.content(a.id)).answers).toEqual({ q: "réponse A" });
    const [ref] = (await target.records.content(b.id)).attachments;
    expect(await (await target.files.blob(ref?.sha256 ?? "")).text()).toBe("jpeg bytes");
  });
});

describe("logout and one database per account", () => {
  it("refuses logout with unsent records until exported, then deletes the database", async () => {
    const name = await databaseNameFor("https://terrain.example.org/", 7);
    expect(name).toBe(await databaseNameFor("https://TERRAIN.example.org", 7));
    expect(name).not.toBe(await databaseNameFor("https://terrain.example.org", 8));
    let now = 1000;
    const store = await newStore({ name, now: () => now });
    const directory = new AccountDirectory({ name: uniqueName("dir") });
    await directory.remember({ dbName: name, server: "s", accountId: 7, email: "a@b.c", displayName: "A", lastUsedAt: 1 });
    const draft = await store.records.createDraft({ ...DRAFT });
    await expect(logout(store.db, { directory })).rejects.toBeInstanceOf(UnsentRecordsError);
    now = 2000;
    await exportRecords(store.db, store.vault, "pp", { ...FAST, now: () => now });
    now = 3000;
    await store.records.saveAnswers(draft.id, { answers: { changed: true } });
    await expect(logout(store.db, { directory })).rejects.toBeInstanceOf(UnsentRecordsError);
    await exportRecords(store.db, store.vault, "pp", { ...FAST, now: () => 4000 });
    await logout(store.db, { directory });
    expect(await directory.list()).toEqual([]);
    const reopened = openTerrainDB(name);
    expect(await reopened.records.count()).toBe(0);
    reopened.close();
  });
});
