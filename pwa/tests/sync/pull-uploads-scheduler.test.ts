import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { getSpec, offeredSpecs } from "../../src/db/index.js";
import { NetworkError, SyncScheduler, backoffDelay, type Clock, type RunOutcome } from "../../src/sync/index.js";
import { DRAFT } from "../db/helpers.js";
import { setup, waitingRecords } from "./helpers.js";

describe("pull", () => {
  it("stores sites, spec versions (closed flagged, compiled fetched), review decisions and the cursor", async () => {
    const { server, store, engine } = await setup();
    const [id = ""] = await waitingRecords(store, 1);
    await engine.run();
    server.review(id, "RAS, merci");
    await engine.run();
    expect((await getSpec(store.db, "diagnostic_familles", 2))?.status).toBe("closed");
    expect((await offeredSpecs(store.db, "aire-nord")).map((s) => s.version)).toEqual([3]);
    expect((await getSpec(store.db, "diagnostic_familles", 3))?.compiled).toEqual({ items: ["x"] });
    const record = await store.records.get(id);
    expect(record.reviewDecision).toBe("approved");
    expect(record.notes?.reviewComment).toBe("RAS, merci");
    expect(await store.session.pullCursor()).toBe(`c${String(server.seq)}`);
    // An unknown cursor (restored server backup) is answered from the start.
    await store.session.setPullCursor("zz");
    const outcome = await engine.run();
    expect(outcome.kind === "ok" && outcome.pull.reset).toBe(true);
  });
});

describe("attachments", () => {
  it("uploads missing files resumably, from the server's offset after a dropped chunk", async () => {
    const { server, store, engine } = await setup();
    const draft = await store.records.createDraft({ ...DRAFT });
    const bytes = new Uint8Array(3500).map((_, i) => (i * 7) % 256);
    const ref = await store.files.attach(draft.id, "photo", new Blob([bytes], { type: "image/jpeg" }));
    await store.records.saveAnswers(draft.id, { answers: { photo: ref.sha256 } });
    await store.records.finalise(draft.id);
    server.dropPatchAfter = 600; // the first 1000-byte chunk is cut after 600 bytes
    server.faults = [];
    const first = await engine.run();
    // The chunk dropped: a retry; the record itself is sent.
    expect(first.kind).toBe("retry");
    expect((await store.db.records.get(draft.id))?.missingAttachments).toEqual([ref.sha256]);
    const second = await engine.run();
    expect(second.kind).toBe("ok");
    const upload = server.uploads.get(ref.sha256);
    expect(upload?.complete).toBe(true);
    expect(Array.from(upload?.bytes ?? [])).toEqual(Array.from(bytes));
    expect((await store.files.info(ref.sha256))?.uploadState).toBe("complete");
    expect((await store.db.records.get(draft.id))?.missingAttachments).toEqual([]);
    // Resumed at 600 (what arrived, not a chunk boundary): PATCH 0, then 600, 1600, 2600.
    expect(server.requests.filter((r) => r.startsWith("PATCH")).length).toBe(4);
  });
});

class FakeClock implements Clock {
  time = 0;
  timers: { at: number; callback: () => void; handle: number }[] = [];
  #next = 0;
  now(): number { return this.time; }
  setTimeout(callback: () => void, ms: number): unknown {
    const handle = ++this.#next;
    this.timers.push({ at: this.time + ms, callback, handle });
    return handle;
  }
  clearTimeout(handle: unknown): void { this.timers = this.timers.filter((t) => t.handle !== handle); }
  fire(): void {
    const timer = this.timers.shift();
    if (!timer) throw new Error("no timer");
    this.time = timer.at;
    timer.callback();
  }
}

function retry(ms: number | null): RunOutcome {
  return { kind: "retry", error: new NetworkError("offline"), retryAfterMs: ms };
}

describe("SyncScheduler", () => {
  it("backs off exponentially with jitter, capped, honours Retry-After, and resets after success", async () => {
    expect(backoffDelay(1, null, { random: () => 0 })).toBe(1000);
    expect(backoffDelay(4, null, { random: () => 0.999 })).toBeCloseTo(8000, -1);
    expect(backoffDelay(30, null, { random: () => 0.999 })).toBeLessThanOrEqual(300_000);
    const outcomes: RunOutcome[] = [retry(null), retry(null), retry(20_000)];
    const clock = new FakeClock();
    let online = true;
    const scheduler = new SyncScheduler({
      engine: { run: () => Promise.resolve(outcomes.shift() ?? { kind: "ok", pull: { pages: 1, records: 0, reset: false, specsFetched: 0 }, push: { batches: 0, sent: 0, conflicts: 0, attention: 0, deferred: 0 }, uploads: { completed: 0, failed: 0, notHere: 0, bytesSent: 0 } }) },
      clock,
      online: { isOnline: () => online, subscribe: () => () => undefined },
      backoff: { random: () => 0 },
      intervalMs: 60_000,
    });
    const states: string[] = [];
    scheduler.subscribe((s) => states.push(s.phase));
    scheduler.start();
    await scheduler.runNow();
    expect(scheduler.state.failures).toBe(2);
    expect(scheduler.state.nextRunAt).toBe(1000); // attempt 2 with zero jitter: 2000/2
    expect(scheduler.state.lastError?.message).toContain("Nouvel essai dans");
    clock.fire();
    await scheduler.runNow();
    expect(scheduler.state.nextRunAt).toBe(clock.time + 60_000);
    expect(scheduler.state.failures).toBe(0);
    expect(scheduler.state.lastError).toBeNull();
    online = false;
    clock.fire();
    expect(scheduler.state.phase).toBe("offline");
    expect(states).toContain("running");
    scheduler.stop();
  });

  it("never runs twice at once; a request during a run queues exactly one more", async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const { store, engine } = await setup();
    await waitingRecords(store, 1);
    const scheduler = new SyncScheduler({
      engine: {
        run: async () => {
          active += 1; runs += 1; maxActive = Math.max(maxActive, active);
          try { return await engine.run(); } finally { active -= 1; }
        },
      },
      counts: () => store.records.counts(),
      clock: new FakeClock(),
    });
    const all = await Promise.all([scheduler.runNow(), scheduler.runNow(), scheduler.runNow()]);
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
    expect(all[2].counts?.sent).toBe(1);
    expect(all[2].phase).toBe("stopped");
  });
});
