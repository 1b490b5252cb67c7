/** Rows of the Terrain database and the plain shapes the API returns. */
import type { Sealed } from "./crypto.js";

export type SpecKind = "questionnaire" | "interview_guide" | "observation_log" | (string & {});

/**
 * Local life of a record:
 * - `draft`: being filled; editable.
 * - `waiting`: finished, in the outbox (has a queue sequence); sent at the next sync.
 * - `sending`: inside a push whose answer has not been applied yet (back to `waiting` after a failure
 *   or a crash).
 * - `sent`: the server acknowledged it (created, duplicate, revised, needs_review or conflict).
 * - `attention`: the server refused it (`rejected`) or it cannot be sent as is: stays on the device,
 *   with the reason; the user fixes it and finalises again (or retries).
 */
export type LocalStatus = "draft" | "waiting" | "sending" | "sent" | "attention";
export const LOCAL_STATUSES: readonly LocalStatus[] = ["draft", "waiting", "sending", "sent", "attention"];

export type ServerStatus = "accepted" | "needs_review" | "conflict";
export type ReviewDecision = "reviewed" | "approved" | "rejected";

/** As in the push `attachments` list (docs/sync-protocol.md section 2). */
export interface AttachmentRef {
  sha256: string;
  media_type: string;
  size: number;
  item: string;
}

/** Interview data (docs/responses.md "Interview records"); kept as the server expects it. */
export interface InterviewData {
  audience?: string;
  consent?: {
    mode: "recording" | "notes_only";
    given_at: string;
    collected_by: string;
    refusal_notes?: string;
  };
  recording?: { sha256: string; started_at: string } | null;
  timeline?: {
    theme: string;
    start: number;
    end: number;
    recording_start?: number | null;
    recording_end?: number | null;
  }[];
  [key: string]: unknown;
}

/** The encrypted part of a record: everything the person said, and its title. */
export interface RecordContent {
  answers: Record<string, unknown>;
  metadata: Record<string, unknown>;
  interview: InterviewData | null;
  attachments: AttachmentRef[];
  /** ISO 8601 with offset. */
  startedAt: string | null;
  finishedAt: string | null;
  /** For lists ("Famille 3, aire nord"): may name a person, hence encrypted. */
  title: string;
}

/** A server validation problem (docs/responses.md), as the push or pull gives it. */
export interface Problem {
  code: string;
  item?: string | null;
  instance?: string;
  message?: { fr?: string; en?: string } | string;
  [key: string]: unknown;
}

/** What the server said about a record, the encrypted part (messages can quote answers). */
export interface ServerNotes {
  problems: Problem[];
  reviewComment: string | null;
  /** For `attention`: the refusal's French message and details. */
  rejection: { code: string; message: string; details: Record<string, unknown> } | null;
}

export interface RecordRow {
  /** Client UUID (lowercase), the idempotency key. */
  id: string;
  spec: string;
  version: number;
  kind: SpecKind;
  siteId: string;
  status: LocalStatus;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
  queuedAt: number | null;
  /** Strictly increasing across the database: FIFO order of the outbox, exact within one millisecond. */
  queueSeq: number | null;
  revision: number;
  baseRevision: number | null;
  /** Schema v2: 1 while not acknowledged by the server (draft, waiting, sending, attention), else 0. */
  unsent: 0 | 1;
  content: Sealed;
  /** Byte size of the push JSON of this record, computed when finalised (batch sizing). */
  wireBytes: number;
  // Server state, in clear: codes and numbers only.
  serverStatus: ServerStatus | null;
  serverRevision: number | null;
  reviewDecision: ReviewDecision | null;
  /** Server revision higher than the one this device sent (a coordinator resolved a conflict). */
  serverAhead: boolean;
  missingAttachments: string[];
  attentionCode: string | null;
  sentAt: number | null;
  serverNotes: Sealed | null;
}

export interface FileRow {
  sha256: string;
  mediaType: string;
  size: number;
  /** Records referring to this content (multi-entry index). */
  recordIds: string[];
  /** Plain bytes per stored chunk (the last may be shorter). */
  chunkSize: number;
  chunkCount: number;
  uploadState: "pending" | "uploading" | "complete" | "failed";
  /** Last offset the server reported (a hint only: uploads always resume from the server's offset). */
  uploadOffset: number;
  uploadError: string | null;
  createdAt: number;
}

export interface FileChunkRow {
  sha256: string;
  index: number;
  data: Sealed;
}

export interface SiteRow {
  code: string;
  name: string;
}

export type SpecVersionStatus = "published" | "closed";

export interface SpecRow {
  name: string;
  version: number;
  kind: SpecKind;
  title: Record<string, unknown>;
  sites: string[];
  status: SpecVersionStatus;
  contentHash: string;
  publishedAt: string | null;
  closedAt: string | null;
  acceptedUntil: string | null;
  /** The compiled spec (GET /api/v1/specs/{name}/versions/{n}); null until fetched. */
  compiled: unknown;
}

export interface MetaRow {
  key: string;
  value: unknown;
}
