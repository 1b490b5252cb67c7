/**
 * The outbox: pushes `waiting` records in FIFO order (queue sequence), in batches bounded by count and
 * bytes, and applies the server's per-record results. A record leaves `sending` only by an answer
 * about it: acknowledged -> `sent`, refused -> `attention` (kept, with the server's reason), anything
 * else (network, 5xx, 401, a result missing from the answer) -> back to `waiting`.
 */
import { randomUUID, utf8 } from "../db/crypto.js";
import type { LocalStore } from "../db/index.js";
import { contentAad, notesAad, toWireRecord, type WireRecord } from "../db/records.js";
import type { Problem, RecordContent, RecordRow, ServerNotes } from "../db/types.js";
import type { PushRecordResult, SyncApi } from "./api.js";
import { RejectedError, TooLargeError } from "./errors.js";

/** The protocol's limits are 500 records and 5 MiB; 100 is its advice, and we keep a margin on bytes. */
export const DEFAULT_BATCH_RECORDS = 100;
export const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
const ENVELOPE_BYTES = 64;

export interface PushOptions {
  maxRecords?: number;
  maxBytes?: number;
  now?: () => number;
  onProgress?: (progress: { sent: number; attention: number; total: number }) => void;
}

export interface PushReport {
  batches: number;
  /** Acknowledged (created, duplicate, revised, needs_review, conflict). */
  sent: number;
  conflicts: number;
  /** Refused by the server (rejected), or too large alone. */
  attention: number;
  /** Back to `waiting` because the answer said nothing about them: retry later. */
  deferred: number;
}

interface Pending {
  row: RecordRow;
  wire: WireRecord;
  bytes: number;
}

/** After a crash or a closed tab mid-push: the answer never came, so those records wait again. */
export async function recoverSending(store: LocalStore): Promise<number> {
  return store.db.records.where("status").equals("sending").modify({ status: "waiting" });
}

export async function pushOutbox(store: LocalStore, api: SyncApi, token: string, options: PushOptions = {}): Promise<PushReport> {
  const now = options.now ?? Date.now;
  let maxRecords = Math.min(options.maxRecords ?? DEFAULT_BATCH_RECORDS, 500);
  let maxBytes = options.maxBytes ?? DEFAULT_BATCH_BYTES;
  const report: PushReport = { batches: 0, sent: 0, conflicts: 0, attention: 0, deferred: 0 };
  const skip = new Set<string>();
  const total = await store.db.records.where("status").equals("waiting").count();

  for (;;) {
    const batch = await nextBatch(store, maxRecords, maxBytes, skip);
    if (batch.length === 0) return report;
    const marked = await markSending(store, batch);
    if (marked.length === 0) continue;
    report.batches += 1;
    let results: PushRecordResult[];
    try {
      results = (await api.push(token, randomUUID(), marked.map((p) => p.wire))).results;
    } catch (error) {
      await backToWaiting(store, marked.map((p) => p.row.id));
      const tooBig = error instanceof TooLargeError || (error instanceof RejectedError && error.code === "request.too_deep");
      if ((tooBig || error instanceof RejectedError) && marked.length > 1) {
        // Split: the next batches are half as large, down to one record.
        maxRecords = Math.max(1, Math.floor(marked.length / 2));
        maxBytes = Math.max(1, Math.floor(maxBytes / 2));
        continue;
      }
      if (error instanceof TooLargeError || error instanceof RejectedError) {
        // One record alone refused as a request: it cannot go as is; the user must see why.
        const only = marked[0];
        if (only) await markAttention(store, only.row.id, { code: error.code, message: tooLargeMessage(error), details: error.details });
        report.attention += 1;
        continue;
      }
      throw error;
    }
    await applyResults(store, marked, results, report, skip, now());
    options.onProgress?.({ sent: report.sent, attention: report.attention, total });
  }
}

function tooLargeMessage(error: TooLargeError | RejectedError): string {
  return error instanceof TooLargeError
    ? "Cette fiche est trop volumineuse pour être envoyée. Exportez-la et contactez votre coordinatrice ou coordinateur."
    : error.message;
}

async function nextBatch(store: LocalStore, maxRecords: number, maxBytes: number, skip: Set<string>): Promise<Pending[]> {
  const batch: Pending[] = [];
  let bytes = ENVELOPE_BYTES;
  // Read a little more than needed: some may be skipped (deferred in this run).
  const rows = (await store.records.outbox(maxRecords + skip.size)).filter((row) => !skip.has(row.id));
  // Decrypted together: WebCrypto works off the main thread, one at a time would wait for each.
  const contents = await Promise.all(rows.map((row) => store.vault.open(row.content, contentAad(row.id))));
  for (const [index, row] of rows.entries()) {
    const wire = toWireRecord(row, contents[index] as RecordContent);
    const size = utf8(JSON.stringify(wire)).byteLength + 1;
    if (batch.length > 0 && (batch.length >= maxRecords || bytes + size > maxBytes)) break;
    batch.push({ row, wire, bytes: size });
    bytes += size;
    if (batch.length >= maxRecords) break;
  }
  return batch;
}

async function markSending(store: LocalStore, batch: Pending[]): Promise<Pending[]> {
  const { db } = store;
  // One read and one write for the whole batch (a get and an update per record were 4 requests each).
  return db.transaction("rw", db.records, async () => {
    const current = await db.records.bulkGet(batch.map((p) => p.row.id));
    // Taken back to draft meanwhile: not part of this batch.
    const kept = batch.filter((_, index) => current[index]?.status === "waiting");
    const rows = current.filter((row): row is RecordRow => row?.status === "waiting");
    await db.records.bulkPut(rows.map((row) => ({ ...row, status: "sending" as const })));
    return kept;
  });
}

async function backToWaiting(store: LocalStore, ids: string[]): Promise<void> {
  const { db } = store;
  if (ids.length === 0) return;
  await db.transaction("rw", db.records, async () => {
    const rows = (await db.records.bulkGet(ids)).filter((row): row is RecordRow => row?.status === "sending");
    await db.records.bulkPut(rows.map((row) => ({ ...row, status: "waiting" as const })));
  });
}

async function markAttention(store: LocalStore, id: string, rejection: ServerNotes["rejection"]): Promise<void> {
  const notes: ServerNotes = { problems: [], reviewComment: null, rejection };
  const sealed = await store.vault.seal(notes, notesAad(id));
  const { db } = store;
  await db.transaction("rw", db.records, async () => {
    const row = await db.records.get(id);
    if (!row || (row.status !== "waiting" && row.status !== "sending")) return;
    await db.records.update(id, { status: "attention", unsent: 1, attentionCode: rejection?.code ?? null, serverNotes: sealed });
  });
}

async function applyResults(
  store: LocalStore,
  batch: Pending[],
  results: PushRecordResult[],
  report: PushReport,
  skip: Set<string>,
  now: number,
): Promise<void> {
  const byIndex = new Map(results.map((r) => [r.index, r]));
  // Encrypt first (all at once): WebCrypto inside the transaction would end it.
  const sealing: Promise<{ id: string; changes: Partial<RecordRow> }>[] = [];
  const unanswered: string[] = [];
  for (const [index, pending] of batch.entries()) {
    const id = pending.row.id;
    const result = byIndex.get(index);
    if (!result || (result.id !== null && result.id.toLowerCase() !== id)) {
      unanswered.push(id);
      continue;
    }
    if (result.result === "rejected") {
      const notes: ServerNotes = {
        problems: [],
        reviewComment: null,
        rejection: {
          code: result.code ?? "sync.rejected",
          message: result.message ?? "Le serveur a refusé cette fiche.",
          details: result.details ?? {},
        },
      };
      const changes = { status: "attention" as const, unsent: 1 as const, attentionCode: notes.rejection?.code ?? null };
      sealing.push(store.vault.seal(notes, notesAad(id)).then((serverNotes) => ({ id, changes: { ...changes, serverNotes } })));
      report.attention += 1;
      continue;
    }
    const notes: ServerNotes = { problems: (result.problems ?? []) as Problem[], reviewComment: null, rejection: null };
    const serverStatus = result.status ?? (result.result === "conflict" ? "conflict" : result.result === "needs_review" ? "needs_review" : "accepted");
    const changes: Partial<RecordRow> = {
      status: "sent",
      unsent: 0,
      serverStatus,
      serverRevision: result.revision ?? pending.row.revision,
      missingAttachments: result.missing_attachments ?? [],
      attentionCode: null,
      sentAt: now,
    };
    sealing.push(store.vault.seal(notes, notesAad(id)).then((serverNotes) => ({ id, changes: { ...changes, serverNotes } })));
    report.sent += 1;
    if (result.result === "conflict") report.conflicts += 1;
  }
  const updates = await Promise.all(sealing);
  const { db } = store;
  await db.transaction("rw", db.records, async () => {
    const rows = await db.records.bulkGet(updates.map((u) => u.id));
    // Only the answer to this very send may move it out of `sending`.
    const changed = updates.flatMap(({ changes }, index) => {
      const row = rows[index];
      return row?.status === "sending" ? [{ ...row, ...changes }] : [];
    });
    await db.records.bulkPut(changed);
  });
  await backToWaiting(store, unanswered);
  for (const id of unanswered) skip.add(id);
  report.deferred += unanswered.length;
}
