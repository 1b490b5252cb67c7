/**
 * Resumable upload of attachments (docs/sync-attachments.md): declare (POST), then PATCH chunks from the
 * server's offset, always the server's (never a local counter). Driven by the records' lists of files
 * the server still expects (`missingAttachments`, from push results and pulls).
 */
import { sha256Hex } from "../db/crypto.js";
import type { LocalStore } from "../db/index.js";
import type { SyncApi } from "./api.js";
import { OffsetMismatchError, RejectedError, TooLargeError } from "./errors.js";

export const DEFAULT_UPLOAD_CHUNK = 1024 * 1024;
const MAX_CHUNK = 8 * 1024 * 1024;

export interface UploadOptions {
  chunkBytes?: number;
  onProgress?: (progress: { sha256: string; offset: number; size: number }) => void;
}

export interface UploadReport {
  completed: number;
  failed: number;
  /** Expected by the server but not on this device (another device holds them). */
  notHere: number;
  bytesSent: number;
}

/** Every file some sent record still misses on the server. */
export async function missingFiles(store: LocalStore): Promise<Set<string>> {
  const out = new Set<string>();
  await store.db.records.where("unsent").equals(0).each((row) => {
    for (const sha of row.missingAttachments) out.add(sha);
  });
  return out;
}

export async function uploadMissing(store: LocalStore, api: SyncApi, token: string, options: UploadOptions = {}): Promise<UploadReport> {
  const report: UploadReport = { completed: 0, failed: 0, notHere: 0, bytesSent: 0 };
  for (const sha256 of await missingFiles(store)) {
    const info = await store.files.info(sha256);
    if (!info) {
      report.notHere += 1;
      continue;
    }
    const outcome = await uploadOne(store, api, token, sha256, options, report);
    if (outcome === "complete") {
      report.completed += 1;
      await forgetMissing(store, sha256);
    } else {
      report.failed += 1;
    }
  }
  return report;
}

/** Transient errors (network, 5xx, busy) and 401 propagate: the whole run stops and is retried. */
async function uploadOne(
  store: LocalStore,
  api: SyncApi,
  token: string,
  sha256: string,
  options: UploadOptions,
  report: UploadReport,
): Promise<"complete" | "failed"> {
  const info = await store.files.info(sha256);
  if (!info) return "failed";
  const chunkBytes = Math.min(options.chunkBytes ?? DEFAULT_UPLOAD_CHUNK, MAX_CHUNK);
  let restarts = 0;
  let state;
  try {
    state = await api.declareAttachment(token, sha256, info.size, info.mediaType);
  } catch (error) {
    if (error instanceof RejectedError || error instanceof TooLargeError) {
      await store.files.setUploadState(sha256, "failed", 0, error.message);
      return "failed";
    }
    throw error;
  }
  if (state.status === "complete") {
    await store.files.setUploadState(sha256, "complete", info.size);
    return "complete";
  }
  let offset = state.offset;
  await store.files.setUploadState(sha256, "uploading", offset);
  for (;;) {
    const chunk = await store.files.read(sha256, offset, offset + chunkBytes);
    try {
      // At offset = size an empty PATCH asks the server to finish its verification.
      const next = await api.patchAttachment(token, sha256, offset, chunk);
      report.bytesSent += chunk.byteLength;
      offset = next;
    } catch (error) {
      if (error instanceof OffsetMismatchError) {
        offset = error.offset;
        continue;
      }
      if (error instanceof RejectedError && error.code === "attachment.checksum_mismatch" && restarts === 0) {
        // The server discarded it. Same local hash: send again from 0, once.
        const whole = await store.files.read(sha256, 0, info.size);
        if ((await sha256Hex(whole)) === sha256) {
          restarts += 1;
          offset = 0;
          continue;
        }
      }
      if (error instanceof RejectedError && error.code === "attachment.not_found" && restarts === 0) {
        restarts += 1;
        offset = (await api.declareAttachment(token, sha256, info.size, info.mediaType)).offset;
        continue;
      }
      if (error instanceof RejectedError || error instanceof TooLargeError) {
        await store.files.setUploadState(sha256, "failed", offset, error.message);
        return "failed";
      }
      await store.files.setUploadState(sha256, "uploading", offset);
      throw error;
    }
    options.onProgress?.({ sha256, offset, size: info.size });
    // A 204 whose offset equals the size comes after the server verified the hash.
    if (offset >= info.size) break;
    await store.files.setUploadState(sha256, "uploading", offset);
  }
  await store.files.setUploadState(sha256, "complete", info.size);
  return "complete";
}

async function forgetMissing(store: LocalStore, sha256: string): Promise<void> {
  const { db } = store;
  await db.transaction("rw", db.records, async () => {
    await db.records.where("unsent").equals(0).modify((row) => {
      if (row.missingAttachments.includes(sha256)) {
        row.missingAttachments = row.missingAttachments.filter((s) => s !== sha256);
      }
    });
  });
}
