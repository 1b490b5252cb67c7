import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { RecordStateError, openTerrainDB } from "../../src/db/index.js";
import { DRAFT, newStore, rawDump, uniqueName } from "./helpers.js";

describe("RecordStore", () => {
  it("keeps exact FIFO order for records finalised within the same millisecond", async () => {
    const store = await newStore({ now: () => 1_700_000_000_000 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await store.records.createDraft({ ...DRAFT, title: `F${String(i)}` })).id);
    // Finalise in a shuffled order: the outbox must follow the finalisation order, not ids or times.
    const order = [5, 2, 11, 0, 7, 3, 9, 1, 10, 4, 8, 6].map((i) => ids[i] ?? "");
    for (const id of order) await store.records.finalise(id);
    expect((await store.records.outbox()).map((r) => r.id)).toEqual(order);
  });

  it("saves answers (merging fields), lists with titles, counts, refuses edits outside drafts", async () => {
    const store = await newStore();
    const draft = await store.records.createDraft({ ...DRAFT, title: "Famille Martin" });
    await Promise.all([
      store.records.saveAnswers(draft.id, { answers: { nb_personnes: 3 } }),
      store.records.saveAnswers(draft.id, { answers: { nb_personnes: 4 }, metadata: { deviceid: "t1" } }),
    ]);
    const got = await store.records.get(draft.id);
    expect(got.content.answers).toEqual({ nb_personnes: 4 });
    expect(got.content.metadata).toEqual({ deviceid: "t1" });
    expect((await store.records.list({ siteId: "aire-nord" })).map((r) => r.title)).toEqual(["Famille Martin"]);
    await store.records.finalise(draft.id);
    await expect(store.records.saveAnswers(draft.id, { answers: {} })).rejects.toBeInstanceOf(RecordStateError);
    await expect(store.records.deleteDraft(draft.id)).rejects.toBeInstanceOf(RecordStateError);
    const counts = await store.records.counts();
    expect(counts.waiting).toBe(1);
    expect(counts.unsent).toBe(1);
    expect(await store.records.unsentCount("aire-nord")).toBe(1);
    const copy = await store.records.duplicateAsNew(draft.id);
    expect(copy.id).not.toBe(draft.id);
    expect((await store.records.content(copy.id)).answers).toEqual({ nb_personnes: 4 });
    await store.records.deleteDraft(copy.id);
    expect(await store.records.counts()).toMatchObject({ draft: 0, waiting: 1 });
  });

  it("encrypts content, titles and files at rest", async () => {
    const name = uniqueName("raw");
    const store = await newStore({ name });
    const draft = await store.records.createDraft({ ...DRAFT, title: "Famille Zébulon" });
    await store.records.saveAnswers(draft.id, { answers: { remarque: "Madame Quenouille habite ici" } });
    await store.files.attach(draft.id, "photo", new Blob(["PHOTO-CONTENT-MARKER"], { type: "image/jpeg" }));
    store.db.close();
    const raw = await rawDump(name);
    expect(raw).toContain(draft.id); // the dump does hold the rows
    expect(raw).not.toContain("Quenouille");
    expect(raw).not.toContain("Zébulon");
    expect(raw).not.toContain("PHOTO-CONTENT-MARKER");
    const reopened = openTerrainDB(name);
    expect(await reopened.records.count()).toBe(1);
    reopened.close();
  });

  it("stores files in encrypted chunks and reads any range", async () => {
    const store = await newStore();
    const draft = await store.records.createDraft({ ...DRAFT });
    const bytes = new Uint8Array(2_500_000).map((_, i) => i % 251);
    const ref = await store.files.attach(draft.id, "audio", new Blob([bytes]), "audio/webm;codecs=opus");
    expect(ref.media_type).toBe("audio/webm");
    expect((await store.records.content(draft.id)).attachments).toEqual([ref]);
    const part = await store.files.read(ref.sha256, 1_048_000, 2_100_000);
    expect(Array.from(part)).toEqual(Array.from(bytes.subarray(1_048_000, 2_100_000)));
    expect((await store.files.info(ref.sha256))?.chunkCount).toBe(3);
  });
});
