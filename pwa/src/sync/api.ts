/**
 * A small typed client of the Terrain sync API (docs/sync-protocol.md, docs/sync-attachments.md). It
 * takes `fetch` and the server's base URL as arguments (tests pass a fake server) and maps every
 * failure to a typed error (errors.ts). It never retries by itself: the outbox and the scheduler decide.
 */
import type { WireRecord } from "../db/records.js";
import {
  AuthError,
  DeviceRevokedError,
  NetworkError,
  OffsetMismatchError,
  RejectedError,
  ServerBusyError,
  ServerError,
  SyncError,
  TooLargeError,
} from "./errors.js";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface LoginResult {
  accessToken: string;
  expiresIn: number;
  deviceToken: string;
  deviceTokenId: number | null;
}

export interface Me {
  id: number;
  email: string;
  display_name: string;
  role: string;
  active: boolean;
  language: "fr" | "en";
  sites: string[];
}

export type PushResultKind = "created" | "duplicate" | "revised" | "conflict" | "needs_review" | "rejected";

export interface PushRecordResult {
  index: number;
  id: string | null;
  result: PushResultKind;
  status?: "accepted" | "needs_review" | "conflict" | null;
  revision?: number | null;
  problems?: Record<string, unknown>[];
  missing_attachments?: string[];
  code?: string | null;
  message?: string | null;
  details?: Record<string, unknown>;
}

export interface PushOut {
  batch_id: string | null;
  replayed: boolean;
  results: PushRecordResult[];
  counts: Record<string, number>;
}

export interface PullRecordState {
  id: string;
  spec: string;
  version: number;
  site: string;
  revision: number;
  status: "accepted" | "needs_review" | "conflict";
  problems: Record<string, unknown>[];
  review: { decision: "reviewed" | "approved" | "rejected"; comment: string | null; at: string | null } | null;
  missing_attachments: string[];
  updated_at: string;
}

export interface PullVersion {
  version: number;
  status: "published" | "closed";
  content_hash: string;
  published_at?: string | null;
  closed_at?: string | null;
  accepted_until?: string | null;
}

export interface PullSpec {
  name: string;
  kind: string;
  title: Record<string, unknown>;
  sites: string[];
  versions: PullVersion[];
}

export interface PullOut {
  cursor: string;
  more: boolean;
  reset: boolean;
  server_time: string;
  sites: { code: string; name: string }[];
  specs: PullSpec[];
  records: PullRecordState[];
}

export interface SpecVersionOut {
  name: string;
  kind: string;
  version: number;
  content_hash: string;
  compiled: unknown;
  [key: string]: unknown;
}

export interface AttachmentState {
  /** True for 201 (a new upload). */
  created: boolean;
  offset: number;
  size: number;
  status: "uploading" | "complete";
}

export interface ApiOptions {
  baseUrl: string;
  fetch: FetchLike;
  /** Accept-Language of the server's messages; default "fr". */
  language?: "fr" | "en";
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

/** Retry-After: seconds or an HTTP date; milliseconds, or null. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function defaultMessage(status: number): string {
  if (status === 401) return "Votre session n'est plus valide : reconnectez-vous avec votre mot de passe.";
  if (status === 413) return "Envoi trop volumineux.";
  if (status >= 500) return "Le serveur a rencontré un problème. Nouvel essai automatique.";
  return "Le serveur a refusé la demande.";
}

async function toError(response: Response, sync: boolean): Promise<SyncError> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch (error) {
    // A proxy's HTML page or an empty body: the status alone decides.
    if (!(error instanceof SyntaxError)) throw error;
  }
  const status = response.status;
  const code = body.error?.code ?? `http.${status}`;
  const message = body.error?.message ?? defaultMessage(status);
  const details = body.error?.details ?? {};
  if (status === 503 || status === 429) {
    return new ServerBusyError(code, message, status, parseRetryAfter(response.headers.get("Retry-After")), details);
  }
  if (status >= 500) return new ServerError(code, message, status, details);
  if (status === 401) {
    // On a sync request any 401 means "this device token no longer works": same handling (protocol section 1).
    return sync || code === "auth.device_revoked"
      ? new DeviceRevokedError(code, message, status, details)
      : new AuthError(code, message, status, details);
  }
  if (status === 413) return new TooLargeError(code, message, status, details);
  if (status === 409 && code === "attachment.offset_mismatch") {
    const header = Number(response.headers.get("Upload-Offset"));
    const offset = typeof details.offset === "number" ? details.offset : header;
    return new OffsetMismatchError(message, Number.isFinite(offset) ? offset : 0, details);
  }
  return new RejectedError(code, message, status, details);
}

export class SyncApi {
  readonly #base: string;
  readonly #fetch: FetchLike;
  readonly #language: string;

  constructor(options: ApiOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#fetch = options.fetch;
    this.#language = options.language ?? "fr";
  }

  async #request(path: string, init: RequestInit, sync: boolean): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Accept-Language", this.#language);
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${path}`, { ...init, headers });
    } catch (error) {
      // fetch rejects only when no HTTP answer came (offline, DNS, reset, abort).
      throw new NetworkError(error instanceof Error ? error.message : String(error));
    }
    if (!response.ok) throw await toError(response, sync);
    return response;
  }

  async #json<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch (error) {
      if (error instanceof SyntaxError) throw new ServerError("http.bad_body", defaultMessage(500), response.status);
      throw error;
    }
  }

  /** Password login creating a device token (POST /api/v1/auth/token with device_name). */
  async login(username: string, password: string, deviceName: string): Promise<LoginResult> {
    const body = new URLSearchParams({ username, password, device_name: deviceName });
    const response = await this.#request(
      "/api/v1/auth/token",
      { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } },
      false,
    );
    const out = await this.#json<{ access_token: string; expires_in: number; device_token?: string; device_token_id?: number }>(response);
    if (!out.device_token) throw new ServerError("auth.no_device_token", "Le serveur n'a pas donné de jeton d'appareil.", response.status);
    return {
      accessToken: out.access_token,
      expiresIn: out.expires_in,
      deviceToken: out.device_token,
      deviceTokenId: out.device_token_id ?? null,
    };
  }

  /** The account (GET /api/v1/me), with any token. */
  async me(token: string): Promise<Me> {
    return this.#json(await this.#request("/api/v1/me", { headers: auth(token) }, false));
  }

  async pull(token: string, cursor: string | null, limit = 200): Promise<PullOut> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor !== null) query.set("cursor", cursor);
    return this.#json(await this.#request(`/api/v1/sync/pull?${query.toString()}`, { headers: auth(token) }, true));
  }

  /** `body` is the exact JSON text (its size was checked by the caller). */
  async push(token: string, batchId: string, records: readonly WireRecord[]): Promise<PushOut> {
    return this.#json(await this.#request("/api/v1/sync/push", {
      method: "POST",
      headers: { ...auth(token), "Content-Type": "application/json" },
      body: JSON.stringify({ batch_id: batchId, records }),
    }, true));
  }

  async specVersion(token: string, name: string, version: number): Promise<SpecVersionOut> {
    return this.#json(
      await this.#request(`/api/v1/specs/${encodeURIComponent(name)}/versions/${String(version)}`, { headers: auth(token) }, true),
    );
  }

  /** POST /api/v1/attachments: declare (or re-declare to resume). */
  async declareAttachment(token: string, sha256: string, size: number, mediaType: string): Promise<AttachmentState> {
    const response = await this.#request("/api/v1/attachments", {
      method: "POST",
      headers: { ...auth(token), "Content-Type": "application/json" },
      body: JSON.stringify({ sha256, size, media_type: mediaType }),
    }, true);
    const out = await this.#json<{ offset: number; size: number; status: "uploading" | "complete" }>(response);
    return { created: response.status === 201, offset: out.offset, size: out.size, status: out.status };
  }

  /** HEAD /api/v1/attachments/{sha256}: the server's offset. */
  async attachmentOffset(token: string, sha256: string): Promise<AttachmentState> {
    const response = await this.#request(`/api/v1/attachments/${sha256}`, { method: "HEAD", headers: auth(token) }, true);
    const status = response.headers.get("Attachment-Status") === "complete" ? "complete" : "uploading";
    return {
      created: false,
      offset: Number(response.headers.get("Upload-Offset") ?? "0"),
      size: Number(response.headers.get("Upload-Length") ?? "0"),
      status,
    };
  }

  /** PATCH one chunk at `offset`; returns the server's new offset. */
  async patchAttachment(token: string, sha256: string, offset: number, chunk: Uint8Array<ArrayBuffer>): Promise<number> {
    const response = await this.#request(`/api/v1/attachments/${sha256}`, {
      method: "PATCH",
      headers: { ...auth(token), "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset) },
      body: chunk,
    }, true);
    const next = Number(response.headers.get("Upload-Offset"));
    return Number.isFinite(next) ? next : offset + chunk.byteLength;
  }
}

function auth(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}
