/**
 * Records on the device: drafts, the outbox and what the server said. Content (answers, metadata,
 * interview, attachments list, title) is encrypted with the vault; indexable fields stay in clear
 * (ids, spec, site, statuses, timestamps, queue order) and carry no answer.
 */
import { randomUUID, utf8 } from "./crypto.js";
import { RecordNotFoundError, RecordStateError } from "./errors.js";
import { unsentFlag, type TerrainDB } from "./schema.js";
import { nextQueueSeq } from "./session.js";
import type {
  AttachmentRef,
  InterviewData,
  LocalStatus,
  RecordContent,
  RecordRow,
  ServerNotes,
  SpecKind,
} from "./types.js";
import { LOCAL_STATUSES } from "./types.js";
import type { Vault } from "./vault.js";

/** The JSON of one record in a push (backend RecordIn). */
export interface WireRecord {
  id: string;
  spec: string;
  version: number;
  site: string;
  revision: number;
  base_revision: number | null;
  started_at: string | null;
  finished_at: string | null;
  metadata: Record<string, unknown>;
  answers: Record<string, unknown>;
  interview: InterviewData | null;
  attachments: AttachmentRef[];
}

/** A record for lists: clear fields plus the decrypted title. */
export type RecordSummary = Omit<RecordRow, "content" | "serverNotes"> & { title: string };

/** A record with everything decrypted. */
export interface LocalRecord extends RecordSummary {
  content: RecordContent;
  notes: ServerNotes | null;
}

export interface NewDraft {
  spec: string;
  version: number;
  kind: SpecKind;
  siteId: string;
  title?: string;
  answers?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  interview?: InterviewData | null;
  /** Tests and imports only; otherwise a fresh UUID. */
  id?: string;
}

export type ContentPatch = Partial<Pick<RecordContent, "answers" | "metadata" | "interview" | "title" | "startedAt">>;

export interface RecordFilter {
  siteId?: string;
  spec?: string;
  version?: number;
  status?: LocalStatus | readonly LocalStatus[];
}

export type StatusCounts = Record<LocalStatus, number> & { unsent: number };

/** ISO 8601 with the device's UTC offset ("2026-11-20T09:00:00.000+01:00"): the server wants aware times. */
export function isoWithOffset(ms: number): string {
  const date = new Date(ms);
  const offset = -date.getTimezoneOffset();
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, -1);
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

export function contentAad(id: string): string {
  return `record:${id}`;
}

export function notesAad(id: string): string {
  return `notes:${id}`;
}

export function toWireRecord(row: RecordRow, content: RecordContent): WireRecord {
  return {
    id: row.id,
    spec: row.spec,
    version: row.version,
    site: row.siteId,
    revision: row.revision,
    base_revision: row.baseRevision,
    started_at: content.startedAt,
    finished_at: content.finishedAt,
    metadata: content.metadata,
    answers: content.answers,
    interview: content.interview,
    attachments: content.attachments,
  };
}

export function wireSize(record: WireRecord): number {
  return utf8(JSON.stringify(record)).byteLength;
}

export class RecordStore {
  readonly #now: () => number;
  /** Saves of one record run one after the other (read, merge, encrypt, write). */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(
    readonly db: TerrainDB,
    readonly vault: Vault,
    options: { now?: () => number } = {},
  ) {
    this.#now = options.now ?? Date.now;
  }

  async createDraft(init: NewDraft): Promise<RecordSummary> {
    const id = (init.id ?? randomUUID()).toLowerCase();
    const now = this.#now();
    const content: RecordContent = {
      answers: init.answers ?? {},
      metadata: init.metadata ?? {},
      interview: init.interview ?? null,
      attachments: [],
      startedAt: isoWithOffset(now),
      finishedAt: null,
      title: init.title ?? "",
    };
    const row: RecordRow = {
      id,
      spec: init.spec,
      version: init.version,
      kind: init.kind,
      siteId: init.siteId,
      status: "draft",
      createdAt: now,
      updatedAt: now,
      queuedAt: null,
      queueSeq: null,
      revision: 1,
      baseRevision: null,
      unsent: 1,
      content: await this.vault.seal(content, contentAad(id)),
      wireBytes: 0,
      serverStatus: null,
      serverRevision: null,
      reviewDecision: null,
      serverAhead: false,
      missingAttachments: [],
      attentionCode: null,
      sentAt: null,
      serverNotes: null,
    };
    await this.db.records.add(row);
    return summary(row, content.title);
  }

  async get(id: string): Promise<LocalRecord> {
    const row = await this.#row(id);
    const content = await this.#content(row);
    const notes = row.serverNotes ? ((await this.vault.open(row.serverNotes, notesAad(row.id))) as ServerNotes) : null;
    return { ...summary(row, content.title), content, notes };
  }

  /** Decrypted content only (the form screen). */
  async content(id: string): Promise<RecordContent> {
    return this.#content(await this.#row(id));
  }

  /**
   * Saves a draft's answers (and/or metadata, interview, title). Given fields replace the stored ones,
   * omitted ones are kept. Meant to be called on every change: one small transaction.
   */
  async saveAnswers(id: string, patch: ContentPatch): Promise<void> {
    await this.#serial(id, async () => {
      await this.updateContent(id, ["draft"], "modifier la fiche", (content) => ({ ...content, ...patch }));
    });
  }

  /**
   * Read, change and re-encrypt a record's content, refused unless its status is one of `allowed`.
   * The encryption happens outside the transaction (WebCrypto would end it); the write checks that
   * nobody changed the row meanwhile and tries again if so.
   */
  async updateContent(
    id: string,
    allowed: readonly LocalStatus[],
    action: string,
    change: (content: RecordContent) => RecordContent,
  ): Promise<RecordContent> {
    for (;;) {
      const row = await this.#row(id);
      if (!allowed.includes(row.status)) throw new RecordStateError(id, row.status, action);
      const next = change(await this.#content(row));
      const sealed = await this.vault.seal(next, contentAad(id));
      const written = await this.db.transaction("rw", this.db.records, async () => {
        const current = await this.db.records.get(id);
        if (!current) throw new RecordNotFoundError(id);
        if (!allowed.includes(current.status)) throw new RecordStateError(id, current.status, action);
        // A fresh IV per write: another IV means another write came in between.
        if (!sameBytes(current.content.iv, row.content.iv)) return false;
        await this.db.records.update(id, { content: sealed, updatedAt: Math.max(this.#now(), row.updatedAt) });
        return true;
      });
      if (written) return next;
    }
  }

  /** A new draft with the same spec, version, site and answers (not the interview nor the metadata). */
  async duplicateAsNew(id: string, options: { title?: string } = {}): Promise<RecordSummary> {
    const source = await this.get(id);
    const copy = await this.createDraft({
      spec: source.spec,
      version: source.version,
      kind: source.kind,
      siteId: source.siteId,
      title: options.title ?? source.title,
      answers: structuredClone(source.content.answers),
    });
    if (source.content.attachments.length > 0) {
      const attachments = structuredClone(source.content.attachments);
      await this.db.transaction("rw", this.db.files, async () => {
        for (const ref of attachments) {
          await this.db.files.where("sha256").equals(ref.sha256).modify((file) => {
            if (!file.recordIds.includes(copy.id)) file.recordIds.push(copy.id);
          });
        }
      });
      await this.updateContent(copy.id, ["draft"], "copier les pièces jointes", (c) => ({ ...c, attachments }));
    }
    return copy;
  }

  /** Deletes a draft that was never sent, and the files only it referred to. */
  async deleteDraft(id: string): Promise<void> {
    await this.db.transaction("rw", this.db.records, this.db.files, this.db.fileChunks, async () => {
      const row = await this.db.records.get(id);
      if (!row) throw new RecordNotFoundError(id);
      if (row.status !== "draft" || row.serverRevision !== null) {
        throw new RecordStateError(id, row.status, "supprimer la fiche");
      }
      await this.db.records.delete(id);
      await unlinkFiles(this.db, id);
    });
  }

  /**
   * Finished: the record joins the outbox (`waiting`) with the next queue sequence, so the outbox
   * order is exact even for records finalised within the same millisecond. Also for `attention`
   * records once fixed.
   */
  async finalise(id: string, options: { finishedAt?: string } = {}): Promise<RecordSummary> {
    const now = this.#now();
    const content = await this.updateContent(id, ["draft", "attention"], "terminer la fiche", (c) => ({
      ...c,
      finishedAt: options.finishedAt ?? c.finishedAt ?? isoWithOffset(now),
    }));
    return this.#enqueue(id, ["draft", "attention"], "terminer la fiche", content);
  }

  /** An `attention` record sent again unchanged (the cause was fixed on the server). */
  async retry(id: string): Promise<RecordSummary> {
    const row = await this.#row(id);
    return this.#enqueue(id, ["attention"], "renvoyer la fiche", await this.#content(row));
  }

  /** Takes a finished record out of the outbox to edit it again. */
  async backToDraft(id: string): Promise<void> {
    await this.db.transaction("rw", this.db.records, async () => {
      const row = await this.db.records.get(id);
      if (!row) throw new RecordNotFoundError(id);
      if (row.status !== "waiting" && row.status !== "attention") {
        throw new RecordStateError(id, row.status, "rouvrir la fiche");
      }
      await this.db.records.update(id, { status: "draft", unsent: 1, queueSeq: null, queuedAt: null, updatedAt: this.#now() });
    });
  }

  /**
   * Edits a record the server already has: it becomes a draft of the next revision
   * (revision = server revision + 1, base_revision = server revision), docs/sync-protocol.md section 2.
   */
  async reopen(id: string): Promise<void> {
    await this.db.transaction("rw", this.db.records, async () => {
      const row = await this.db.records.get(id);
      if (!row) throw new RecordNotFoundError(id);
      if (row.status !== "sent" || row.serverRevision === null) throw new RecordStateError(id, row.status, "modifier la fiche");
      await this.db.records.update(id, {
        status: "draft",
        unsent: 1,
        revision: row.serverRevision + 1,
        baseRevision: row.serverRevision,
        serverAhead: false,
        updatedAt: this.#now(),
      });
    });
  }

  /** Records matching the filter, most recently changed first, with their titles decrypted. */
  async list(filter: RecordFilter = {}): Promise<RecordSummary[]> {
    const statuses = filter.status === undefined ? null : typeof filter.status === "string" ? [filter.status] : filter.status;
    let rows: RecordRow[];
    if (filter.siteId !== undefined) rows = await this.db.records.where("siteId").equals(filter.siteId).toArray();
    else if (statuses) rows = await this.db.records.where("status").anyOf([...statuses]).toArray();
    else rows = await this.db.records.toArray();
    rows = rows.filter(
      (r) =>
        (statuses === null || statuses.includes(r.status)) &&
        (filter.spec === undefined || r.spec === filter.spec) &&
        (filter.version === undefined || r.version === filter.version) &&
        (filter.siteId === undefined || r.siteId === filter.siteId),
    );
    rows.sort((a, b) => b.updatedAt - a.updatedAt);
    return Promise.all(rows.map(async (row) => summary(row, (await this.#content(row)).title)));
  }

  /** Counts per local status, and `unsent` (everything not acknowledged by the server). */
  async counts(filter: { siteId?: string } = {}): Promise<StatusCounts> {
    const counts = Object.fromEntries(LOCAL_STATUSES.map((s) => [s, 0])) as StatusCounts;
    counts.unsent = 0;
    const collection =
      filter.siteId === undefined ? this.db.records.toCollection() : this.db.records.where("siteId").equals(filter.siteId);
    await collection.each((row) => {
      counts[row.status] += 1;
      counts.unsent += row.unsent;
    });
    return counts;
  }

  /** Number of records not acknowledged by the server (uses the v2 index, decrypts nothing). */
  async unsentCount(siteId?: string): Promise<number> {
    return siteId === undefined
      ? this.db.records.where("unsent").equals(1).count()
      : this.db.records.where("[siteId+unsent]").equals([siteId, 1]).count();
  }

  /** The outbox: `waiting` records in FIFO order. */
  async outbox(limit = Infinity): Promise<RecordRow[]> {
    return this.db.records
      .where("[status+queueSeq]")
      .between(["waiting", -Infinity], ["waiting", Infinity])
      .limit(limit)
      .toArray();
  }

  async #enqueue(id: string, allowed: readonly LocalStatus[], action: string, content: RecordContent): Promise<RecordSummary> {
    const now = this.#now();
    return this.db.transaction("rw", this.db.records, this.db.meta, async () => {
      const row = await this.db.records.get(id);
      if (!row) throw new RecordNotFoundError(id);
      if (!allowed.includes(row.status)) throw new RecordStateError(id, row.status, action);
      const queueSeq = await nextQueueSeq(this.db);
      const changes = {
        status: "waiting" as const,
        unsent: unsentFlag("waiting"),
        queueSeq,
        queuedAt: now,
        updatedAt: Math.max(now, row.updatedAt),
        attentionCode: null,
        wireBytes: wireSize(toWireRecord(row, content)),
      };
      await this.db.records.update(id, changes);
      return summary({ ...row, ...changes }, content.title);
    });
  }

  async #row(id: string): Promise<RecordRow> {
    const row = await this.db.records.get(id);
    if (!row) throw new RecordNotFoundError(id);
    return row;
  }

  async #content(row: RecordRow): Promise<RecordContent> {
    return (await this.vault.open(row.content, contentAad(row.id))) as RecordContent;
  }

  async #serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(id) ?? Promise.resolve();
    // The chain continues after a failed save; the failure still reaches this caller.
    const run = previous.catch(() => undefined).then(task);
    this.#chains.set(id, run);
    try {
      return await run;
    } finally {
      if (this.#chains.get(id) === run) this.#chains.delete(id);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function summary(row: RecordRow, title: string): RecordSummary {
  const rest: Partial<RecordRow> = { ...row };
  delete rest.content;
  delete rest.serverNotes;
  return { ...(rest as Omit<RecordRow, "content" | "serverNotes">), title };
}

/** Removes a record from its files' links and deletes the files no record refers to any more. */
export async function unlinkFiles(db: TerrainDB, recordId: string): Promise<void> {
  const files = await db.files.where("recordIds").equals(recordId).toArray();
  for (const file of files) {
    const recordIds = file.recordIds.filter((r) => r !== recordId);
    if (recordIds.length === 0) {
      await db.files.delete(file.sha256);
      await db.fileChunks.where("sha256").equals(file.sha256).delete();
    } else {
      await db.files.update(file.sha256, { recordIds });
    }
  }
}
