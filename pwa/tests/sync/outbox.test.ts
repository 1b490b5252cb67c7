import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { DRAFT } from "../db/helpers.js";
import { SyncEngine } from "../../src/sync/index.js";
import { setup, waitingRecords } from "./helpers.js";

describe("outbox push", () => {
  it("sends waiting records in FIFO order in bounded batches and marks them sent", async () => {
    const { server, store, engine } = await setup({ now: () => 5000 });
    const ids = await waitingRecords(store, 5);
    const outcome = await engine.run();
    expect(outcome.kind).toBe("ok");
    expect(server.pushes).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    const counts = await store.records.counts();
    expect(counts).toMatchObject({ sent: 5, waiting: 0, unsent: 0 });
    expect((await store.db.records.get(ids[0] ?? ""))?.serverStatus).toBe("accepted");
  });

  it("network failure: records back to waiting, nothing lost; the retry sends them", async () => {
    const { server, store, engine } = await setup();
    await waitingRecords(store, 2);
    server.faults.push("network");
    const outcome = await engine.run();
    expect(outcome.kind).toBe("retry");
    expect((await store.records.counts()).waiting).toBe(2);
    expect((await engine.run()).kind).toBe("ok");
    expect((await store.records.counts()).sent).toBe(2);
  });

  it("503 server.busy gives retryAfterMs from Retry-After", async () => {
    const { server, store, engine } = await setup();
    await waitingRecords(store, 1);
    server.faults.push("busy");
    const outcome = await engine.run();
    expect(outcome).toMatchObject({ kind: "retry", retryAfterMs: 7000 });
    expect((await store.records.counts()).waiting).toBe(1);
  });

  it("crash between push and acknowledgement: retried, server answers duplicate, sent once", async () => {
    const { server, store, engine } = await setup();
    const [id = ""] = await waitingRecords(store, 1);
    server.faults.push("store-then-drop");
    expect((await engine.run()).kind).toBe("retry");
    expect(server.records.has(id)).toBe(true);
    expect((await store.db.records.get(id))?.status).toBe("waiting");
    expect((await engine.run()).kind).toBe("ok");
    expect((await store.db.records.get(id))?.status).toBe("sent");
    expect(server.records.size).toBe(1);
    expect(server.pushes).toEqual([[id], [id]]);
  });

  it("a record left `sending` by an app crash is recovered by a new engine and sent once", async () => {
    const { server, store, api } = await setup();
    const [id = ""] = await waitingRecords(store, 1);
    await new SyncEngine(store, api).run();
    // Simulate the crash: the server has it, the device still shows `sending`.
    await store.db.records.update(id, { status: "sending", unsent: 1 });
    const outcome = await new SyncEngine(store, api).run();
    expect(outcome.kind).toBe("ok");
    expect((await store.db.records.get(id))?.status).toBe("sent");
    expect(server.records.size).toBe(1);
  });

  it("partial batch results: an unanswered record waits again and goes next run", async () => {
    const { server, store, engine } = await setup();
    const ids = await waitingRecords(store, 2);
    server.faults.push("omit-last-result");
    const outcome = await engine.run();
    expect(outcome.kind === "ok" && outcome.push.deferred).toBe(1);
    expect((await store.db.records.get(ids[1] ?? ""))?.status).toBe("waiting");
    await engine.run();
    expect((await store.records.counts()).sent).toBe(2);
  });

  it("rejected -> attention with the server's French reason (kept); conflict -> sent and flagged", async () => {
    const { server, store, engine } = await setup();
    server.forbiddenSites.add("aire-sud");
    const [bad = ""] = await waitingRecords(store, 1, "aire-sud");
    const [good = ""] = await waitingRecords(store, 1);
    await engine.run();
    const rejected = await store.records.get(bad);
    expect(rejected.status).toBe("attention");
    expect(rejected.attentionCode).toBe("sync.site_forbidden");
    expect(rejected.notes?.rejection?.message).toContain("aire-sud");
    expect(rejected.content.answers).toEqual({ i: 0 });
    // Another content under the same id: conflict.
    await store.records.reopen(good);
    await store.db.records.update(good, { revision: 1, baseRevision: null });
    await store.records.saveAnswers(good, { answers: { i: 99 } });
    await store.records.finalise(good);
    await engine.run();
    const conflicted = await store.db.records.get(good);
    expect(conflicted).toMatchObject({ status: "sent", serverStatus: "conflict" });
  });

  it("413 on a batch splits it", async () => {
    const { server, store, engine } = await setup();
    await waitingRecords(store, 2);
    server.faults.push("too-large");
    expect((await engine.run()).kind).toBe("ok");
    expect(server.pushes.map((p) => p.length)).toEqual([1, 1]);
  });

  it("revoked device: stops, keeps everything, asks to sign in again; resumes after a new login", async () => {
    const { server, store, engine, api } = await setup();
    await waitingRecords(store, 2);
    server.revoked = true;
    const outcome = await engine.run();
    expect(outcome.kind).toBe("signed-out");
    expect(await store.session.deviceToken()).toBeNull();
    expect((await store.records.counts()).waiting).toBe(2);
    expect((await engine.run()).kind).toBe("signed-out");
    const login = await api.login("a@b.c", "password-x", "Tablette");
    const session = await store.session.get();
    if (!session) throw new Error("no session");
    await store.session.signIn(session, login.deviceToken);
    expect((await engine.run()).kind).toBe("ok");
    expect((await store.records.counts()).sent).toBe(2);
    expect(DRAFT.siteId).toBe("aire-nord");
  });
});
