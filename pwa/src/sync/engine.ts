/**
 * One sync run: pull, push the outbox, upload the files the server misses. Never throws: the outcome
 * says what happened and what to do (the scheduler retries transient failures with backoff).
 */
import { VaultLockedError } from "../db/errors.js";
import type { LocalStore } from "../db/index.js";
import type { SyncApi } from "./api.js";
import { DeviceRevokedError, NetworkError, ServerBusyError, SyncError, isTransient } from "./errors.js";
import { pushOutbox, recoverSending, type PushOptions, type PushReport } from "./outbox.js";
import { pullAll, type PullReport } from "./pull.js";
import { uploadMissing, type UploadOptions, type UploadReport } from "./uploads.js";

export type RunOutcome =
  /** Everything that could go went; `deferred` > 0 means some records must be tried again later. */
  | { kind: "ok"; pull: PullReport; push: PushReport; uploads: UploadReport }
  /** Network, 5xx or busy: nothing lost; retry later (after `retryAfterMs` when the server said so). */
  | { kind: "retry"; error: SyncError; retryAfterMs: number | null }
  /** 401: the device token no longer works. Local data kept; the user must sign in again. */
  | { kind: "signed-out"; error: SyncError | null }
  /** The vault is locked: nothing can be read or sent until the PIN is entered. */
  | { kind: "locked" }
  /** An unexpected refusal (a bug or a server change): retried later too, reported. */
  | { kind: "error"; error: Error };

export interface EngineOptions {
  push?: PushOptions;
  upload?: UploadOptions;
  now?: () => number;
}

export class SyncEngine {
  #recovered = false;

  constructor(
    readonly store: LocalStore,
    readonly api: SyncApi,
    readonly options: EngineOptions = {},
  ) {}

  async run(): Promise<RunOutcome> {
    const { store } = this;
    if (!store.vault.isUnlocked) return { kind: "locked" };
    try {
      const token = await store.session.deviceToken();
      if (token === null) return { kind: "signed-out", error: null };
      if (!this.#recovered) {
        // Records left `sending` by a crash: their answer never came, they wait again.
        await recoverSending(store);
        this.#recovered = true;
      }
      const now = this.options.now ? { now: this.options.now } : {};
      const pull = await pullAll(store, this.api, token, now);
      const push = await pushOutbox(store, this.api, token, { ...this.options.push, ...now });
      const uploads = await uploadMissing(store, this.api, token, this.options.upload);
      return { kind: "ok", pull, push, uploads };
    } catch (error) {
      if (error instanceof DeviceRevokedError) {
        await store.session.markTokenRevoked();
        return { kind: "signed-out", error };
      }
      if (isTransient(error)) {
        return { kind: "retry", error, retryAfterMs: error instanceof ServerBusyError ? error.retryAfterMs : null };
      }
      if (error instanceof VaultLockedError) return { kind: "locked" };
      if (error instanceof Error) return { kind: "error", error };
      return { kind: "error", error: new NetworkError(String(error)) };
    }
  }
}
