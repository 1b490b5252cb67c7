/**
 * Export of unsent records and their files to one encrypted file, and its import (idempotent: a record
 * whose UUID is already on the device is skipped). The file is a JSON envelope; its payload is
 * AES-GCM encrypted with a key derived (PBKDF2-SHA256) from a passphrase the user chooses, so that it
 * can travel on a USB key or by e-mail to a colleague whose device syncs.
 */
import {
  DEFAULT_PBKDF2_ITERATIONS,
  decryptBytes,
  deriveKey,
  encryptBytes,
  fromBase64,
  fromUtf8,
  randomBytes,
  toBase64,
  utf8,
} from "./crypto.js";
import { ExportFileError } from "./errors.js";
import { FileStore } from "./files.js";
import { contentAad, notesAad, type RecordSummary } from "./records.js";
import { unsentFlag, type TerrainDB } from "./schema.js";
import { markExported, nextQueueSeq } from "./session.js";
import type { RecordContent, RecordRow, ServerNotes } from "./types.js";
import type { Vault } from "./vault.js";

export const EXPORT_FORMAT = "terrain-export";
export const EXPORT_MEDIA_TYPE = "application/vnd.terrain.export+json";

interface Envelope {
  format: typeof EXPORT_FORMAT;
  version: 1;
  createdAt: string;
  /** The account the records were collected with (a number: no personal data in clear). */
  accountId: number | null;
  recordCount: number;
  kdf: { name: "PBKDF2"; hash: "SHA-256"; iterations: number; salt: string };
  iv: string;
  data: string;
}

interface ExportedRecord {
  row: RecordSummary;
  content: RecordContent;
  notes: ServerNotes | null;
}

interface ExportedFile {
  sha256: string;
  mediaType: string;
  recordIds: string[];
  data: string;
}

interface Payload {
  records: ExportedRecord[];
  files: ExportedFile[];
}

export interface ExportOptions {
  /** Also export records already sent (default: only what the server has not acknowledged). */
  includeSent?: boolean;
  iterations?: number;
  accountId?: number | null;
  now?: () => number;
}

export interface ExportResult {
  blob: Blob;
  recordCount: number;
  fileCount: number;
  /** Suggested file name, e.g. "terrain-export-2026-11-20.terrain". */
  fileName: string;
}

export async function exportRecords(
  db: TerrainDB,
  vault: Vault,
  passphrase: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const now = (options.now ?? Date.now)();
  const rows = options.includeSent
    ? await db.records.toArray()
    : await db.records.where("unsent").equals(1).toArray();
  const records: ExportedRecord[] = [];
  for (const row of rows) {
    const { content: sealed, serverNotes, ...clear } = row;
    const content = (await vault.open(sealed, contentAad(row.id))) as RecordContent;
    const notes = serverNotes ? ((await vault.open(serverNotes, notesAad(row.id))) as ServerNotes) : null;
    records.push({ row: { ...clear, title: content.title }, content, notes });
  }
  const files = new FileStore(db, vault);
  const exportedFiles: ExportedFile[] = [];
  const ids = new Set(rows.map((r) => r.id));
  const seen = new Set<string>();
  for (const record of records) {
    for (const ref of record.content.attachments) {
      if (seen.has(ref.sha256)) continue;
      const info = await files.info(ref.sha256);
      if (!info) continue; // referred to but never stored here (the server may have it): nothing to carry
      seen.add(ref.sha256);
      exportedFiles.push({
        sha256: info.sha256,
        mediaType: info.mediaType,
        recordIds: info.recordIds.filter((id) => ids.has(id)),
        data: toBase64(await files.read(info.sha256, 0, info.size)),
      });
    }
  }
  const payload: Payload = { records, files: exportedFiles };
  const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  const salt = randomBytes(16);
  const key = await deriveKey(passphrase, salt, iterations, ["encrypt", "decrypt"]);
  const sealed = await encryptBytes(key, utf8(JSON.stringify(payload)), EXPORT_FORMAT);
  const envelope: Envelope = {
    format: EXPORT_FORMAT,
    version: 1,
    createdAt: new Date(now).toISOString(),
    accountId: options.accountId ?? null,
    recordCount: records.length,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations, salt: toBase64(salt) },
    iv: toBase64(sealed.iv),
    data: toBase64(sealed.data),
  };
  await markExported(db, now);
  return {
    blob: new Blob([JSON.stringify(envelope)], { type: EXPORT_MEDIA_TYPE }),
    recordCount: records.length,
    fileCount: exportedFiles.length,
    fileName: `terrain-export-${new Date(now).toISOString().slice(0, 10)}.terrain`,
  };
}

export interface ImportResult {
  imported: number;
  /** Already on this device (same UUID): left untouched. */
  skipped: number;
  files: number;
}

function parseEnvelope(text: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw new ExportFileError("format");
    throw error;
  }
  const e = value as Partial<Envelope> | null;
  if (
    typeof e !== "object" ||
    e === null ||
    e.format !== EXPORT_FORMAT ||
    e.version !== 1 ||
    typeof e.iv !== "string" ||
    typeof e.data !== "string" ||
    typeof e.kdf?.salt !== "string" ||
    typeof e.kdf.iterations !== "number"
  ) {
    throw new ExportFileError("format");
  }
  return e as Envelope;
}

/** Reads an export file; wrong passphrase or damaged file -> ExportFileError. */
export async function importRecords(
  db: TerrainDB,
  vault: Vault,
  file: Blob,
  passphrase: string,
): Promise<ImportResult> {
  const envelope = parseEnvelope(await file.text());
  const key = await deriveKey(passphrase, fromBase64(envelope.kdf.salt), envelope.kdf.iterations, ["encrypt", "decrypt"]);
  let plain: ArrayBuffer;
  try {
    plain = await decryptBytes(key, { iv: fromBase64(envelope.iv), data: fromBase64(envelope.data).buffer }, EXPORT_FORMAT);
  } catch (error) {
    if (error instanceof Error && error.name === "OperationError") throw new ExportFileError("passphrase");
    throw error;
  }
  const payload = JSON.parse(fromUtf8(plain)) as Payload;
  // Outbox order kept: waiting records get new sequence numbers in their exported order.
  const incoming = [...payload.records].sort(
    (a, b) => (a.row.queueSeq ?? Infinity) - (b.row.queueSeq ?? Infinity) || a.row.createdAt - b.row.createdAt,
  );
  const prepared: RecordRow[] = [];
  for (const { row, content, notes } of incoming) {
    const clear: Partial<RecordSummary> = { ...row };
    delete clear.title;
    const status = row.status === "sending" ? "waiting" : row.status;
    prepared.push({
      ...(clear as Omit<RecordSummary, "title">),
      status,
      unsent: unsentFlag(status),
      content: await vault.seal(content, contentAad(row.id)),
      serverNotes: notes ? await vault.seal(notes, notesAad(row.id)) : null,
    });
  }
  const importedIds = new Set<string>();
  let skipped = 0;
  await db.transaction("rw", db.records, db.meta, async () => {
    for (const row of prepared) {
      if (await db.records.get(row.id)) {
        skipped += 1;
        continue;
      }
      if (row.status === "waiting") {
        row.queueSeq = await nextQueueSeq(db);
      }
      await db.records.add(row);
      importedIds.add(row.id);
    }
  });
  const files = new FileStore(db, vault);
  let fileCount = 0;
  for (const f of payload.files) {
    const linked = f.recordIds.filter((id) => importedIds.has(id));
    if (linked.length === 0) continue;
    await files.putContent(f.sha256, f.mediaType, fromBase64(f.data), linked);
    fileCount += 1;
  }
  return { imported: importedIds.size, skipped, files: fileCount };
}
