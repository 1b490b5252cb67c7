/**
 * Attachments (photos, recordings, files), content-addressed by SHA-256 like the server. Stored
 * encrypted in chunks (`fileChunks`, 1 MiB of plain bytes each, fresh IV each), so that an upload reads
 * one chunk at a time and a 100 MiB recording is never decrypted whole.
 */
import { sha256Hex } from "./crypto.js";
import { RecordNotFoundError } from "./errors.js";
import { RecordStore } from "./records.js";
import type { TerrainDB } from "./schema.js";
import type { AttachmentRef, FileChunkRow, FileRow } from "./types.js";
import type { Vault } from "./vault.js";

export const FILE_CHUNK_BYTES = 1024 * 1024;

export function chunkAad(sha256: string, index: number): string {
  return `file:${sha256}:${index}`;
}

/** Media type as the server stores it: lowercase, without parameters ("audio/webm;codecs=opus" -> "audio/webm"). */
export function baseMediaType(mediaType: string): string {
  return (mediaType.split(";")[0] ?? "").trim().toLowerCase();
}

export class FileStore {
  readonly #now: () => number;
  readonly #records: RecordStore;

  constructor(
    readonly db: TerrainDB,
    readonly vault: Vault,
    options: { now?: () => number; chunkBytes?: number } = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#records = new RecordStore(db, vault, options);
    this.chunkBytes = options.chunkBytes ?? FILE_CHUNK_BYTES;
  }

  readonly chunkBytes: number;

  /**
   * Stores a file for a draft's item and adds it to the record's attachments list. Returns its
   * reference: the answer of the photo/audio/file item is `ref.sha256`. The same content attached twice
   * is stored once.
   */
  async attach(recordId: string, item: string, blob: Blob, mediaType = blob.type): Promise<AttachmentRef> {
    if (!(await this.db.records.get(recordId))) throw new RecordNotFoundError(recordId);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const sha256 = await sha256Hex(bytes);
    const ref: AttachmentRef = { sha256, media_type: baseMediaType(mediaType), size: bytes.byteLength, item };
    await this.#store(sha256, ref.media_type, bytes, [recordId]);
    await this.#records.updateContent(recordId, ["draft"], "joindre un fichier", (content) => ({
      ...content,
      attachments: [
        ...content.attachments.filter((a) => !(a.sha256 === sha256 && a.item === item)),
        ref,
      ],
    }));
    return ref;
  }

  /** Removes a file from a draft (the content is deleted when no record refers to it). */
  async detach(recordId: string, sha256: string): Promise<void> {
    const content = await this.#records.updateContent(recordId, ["draft"], "retirer un fichier", (c) => ({
      ...c,
      attachments: c.attachments.filter((a) => a.sha256 !== sha256),
    }));
    if (content.attachments.some((a) => a.sha256 === sha256)) return;
    await this.db.transaction("rw", this.db.files, this.db.fileChunks, async () => {
      const file = await this.db.files.get(sha256);
      if (!file) return;
      if (file.recordIds.every((r) => r === recordId)) {
        await this.db.files.delete(sha256);
        await this.db.fileChunks.where("sha256").equals(sha256).delete();
      } else {
        await this.db.files.update(sha256, { recordIds: file.recordIds.filter((r) => r !== recordId) });
      }
    });
  }

  /**
   * Stores content under its hash (import, or a file restored). Already present: only links the records.
   * The hash is checked.
   */
  async putContent(sha256: string, mediaType: string, bytes: Uint8Array<ArrayBuffer>, recordIds: string[]): Promise<void> {
    if ((await sha256Hex(bytes)) !== sha256) throw new Error(`content does not hash to ${sha256}`);
    await this.#store(sha256, baseMediaType(mediaType), bytes, recordIds);
  }

  async info(sha256: string): Promise<FileRow | undefined> {
    return this.db.files.get(sha256);
  }

  /** Files of a record. */
  async ofRecord(recordId: string): Promise<FileRow[]> {
    return this.db.files.where("recordIds").equals(recordId).toArray();
  }

  /** The whole decrypted file (display, playback). */
  async blob(sha256: string): Promise<Blob> {
    const file = await this.db.files.get(sha256);
    if (!file) throw new Error(`no file ${sha256}`);
    return new Blob([await this.read(sha256, 0, file.size)], { type: file.mediaType });
  }

  /** Plain bytes [start, end) of a file, decrypting only the chunks that cover them. */
  async read(sha256: string, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
    const file = await this.db.files.get(sha256);
    if (!file) throw new Error(`no file ${sha256}`);
    const stop = Math.min(end, file.size);
    const out = new Uint8Array(Math.max(0, stop - start));
    if (out.length === 0) return out;
    const first = Math.floor(start / file.chunkSize);
    const last = Math.floor((stop - 1) / file.chunkSize);
    for (let index = first; index <= last; index++) {
      const row = await this.db.fileChunks.get([sha256, index]);
      if (!row) throw new Error(`chunk ${index} of ${sha256} missing`);
      const plain = new Uint8Array(await this.vault.openBytes(row.data, chunkAad(sha256, index)));
      const chunkStart = index * file.chunkSize;
      const from = Math.max(start, chunkStart) - chunkStart;
      const to = Math.min(stop, chunkStart + plain.length) - chunkStart;
      out.set(plain.subarray(from, to), chunkStart + from - start);
    }
    return out;
  }

  async setUploadState(sha256: string, state: FileRow["uploadState"], offset: number, error: string | null = null): Promise<void> {
    await this.db.files.update(sha256, { uploadState: state, uploadOffset: offset, uploadError: error });
  }

  async #store(sha256: string, mediaType: string, bytes: Uint8Array<ArrayBuffer>, recordIds: string[]): Promise<void> {
    const existing = await this.db.files.get(sha256);
    if (existing) {
      await this.#link(sha256, recordIds);
      return;
    }
    // Encrypt before the transaction: WebCrypto calls inside it would let it commit early.
    const chunks: FileChunkRow[] = [];
    const count = Math.max(1, Math.ceil(bytes.byteLength / this.chunkBytes));
    for (let index = 0; index < count; index++) {
      const part = bytes.subarray(index * this.chunkBytes, (index + 1) * this.chunkBytes);
      chunks.push({ sha256, index, data: await this.vault.sealBytes(part, chunkAad(sha256, index)) });
    }
    await this.db.transaction("rw", this.db.files, this.db.fileChunks, async () => {
      if (await this.db.files.get(sha256)) return;
      await this.db.fileChunks.bulkPut(chunks);
      await this.db.files.add({
        sha256,
        mediaType,
        size: bytes.byteLength,
        recordIds: [],
        chunkSize: this.chunkBytes,
        chunkCount: count,
        uploadState: "pending",
        uploadOffset: 0,
        uploadError: null,
        createdAt: this.#now(),
      });
    });
    await this.#link(sha256, recordIds);
  }

  async #link(sha256: string, recordIds: string[]): Promise<void> {
    await this.db.transaction("rw", this.db.files, async () => {
      const file = await this.db.files.get(sha256);
      if (!file) return;
      const merged = [...new Set([...file.recordIds, ...recordIds])];
      if (merged.length !== file.recordIds.length) await this.db.files.update(sha256, { recordIds: merged });
    });
  }
}
