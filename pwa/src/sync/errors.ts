/** Typed errors of the sync client. `message` is French, fit for the user; `code` is the server's. */

export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No answer (offline, DNS, dropped connection, timeout). Safe to retry the same request. */
export class NetworkError extends SyncError {
  constructor(readonly causeMessage: string) {
    super("network", "Pas de connexion au serveur. Les fiches restent sur l'appareil et partiront dès que possible.");
  }
}

/** 503 server.busy / auth.busy, 429: retry after `retryAfterMs` (from Retry-After). */
export class ServerBusyError extends SyncError {
  constructor(
    code: string,
    message: string,
    status: number,
    readonly retryAfterMs: number | null,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, status, details);
  }
}

/** Any other 5xx (or an unreadable answer): retry with backoff. */
export class ServerError extends SyncError {}

/** 401: wrong credentials at login, or an unknown token. */
export class AuthError extends SyncError {}

/** 401 auth.device_revoked (or invalid token on a sync request): keep every local data, sign in again. */
export class DeviceRevokedError extends AuthError {
  get keepLocalData(): boolean {
    return this.details.keep_local_data !== false;
  }
}

/** 413: a batch or a chunk too large (split it), or a file over the server's limit. */
export class TooLargeError extends SyncError {
  get limitBytes(): number | null {
    const limit = this.details.limit_bytes;
    return typeof limit === "number" ? limit : null;
  }
}

/** 409 attachment.offset_mismatch: continue from `offset`. */
export class OffsetMismatchError extends SyncError {
  constructor(
    message: string,
    readonly offset: number,
    details: Record<string, unknown>,
  ) {
    super("attachment.offset_mismatch", message, 409, details);
  }
}

/** Any other 4xx: the request itself is refused (retrying it unchanged gives the same answer). */
export class RejectedError extends SyncError {}

/** True for errors after which the same request may succeed later. */
export function isTransient(error: unknown): error is NetworkError | ServerBusyError | ServerError {
  return error instanceof NetworkError || error instanceof ServerBusyError || error instanceof ServerError;
}
