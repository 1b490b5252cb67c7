/** An in-memory Terrain server implementing the sync protocol, as a `fetch` function. */
import type { FetchLike } from "../../src/sync/api.js";

interface StoredRecord { id: string; body: string; revision: number; status: "accepted" | "needs_review" | "conflict"; seq: number; attachments: string[]; review: { decision: "approved"; comment: string; at: null } | null }
interface Upload { size: number; mediaType: string; bytes: Uint8Array<ArrayBuffer>; offset: number; complete: boolean }

export type Fault = "network" | "busy" | "store-then-drop" | "omit-last-result" | "too-large";

export class FakeServer {
  records = new Map<string, StoredRecord>();
  pushes: string[][] = [];
  uploads = new Map<string, Upload>();
  faults: Fault[] = [];
  revoked = false;
  forbiddenSites = new Set<string>();
  /** Bytes after which a PATCH "drops" (stores what came, then the connection fails), once. */
  dropPatchAfter: number | null = null;
  seq = 0;
  requests: string[] = [];

  fetch: FetchLike = async (input, init = {}) => {
    const url = new URL(input);
    const method = init.method ?? "GET";
    this.requests.push(`${method} ${url.pathname}`);
    const headers = new Headers(init.headers);
    if (url.pathname === "/api/v1/auth/token") {
      this.revoked = false;
      return json(200, { access_token: "acc", expires_in: 3600, device_token: "tdt_new", device_token_id: 1 });
    }
    if (url.pathname === "/api/v1/me") return json(200, { id: 7, email: "a@b.c", display_name: "Amélie", role: "field", active: true, language: "fr", sites: ["aire-nord"] });
    if (this.revoked || headers.get("Authorization") !== "Bearer tdt_new") {
      return json(401, { error: { code: "auth.device_revoked", message: "Cet appareil a été déconnecté.", details: { keep_local_data: true } } });
    }
    if (url.pathname === "/api/v1/sync/push") return this.#push(init.body as string);
    if (url.pathname === "/api/v1/sync/pull") return this.#pull(url);
    if (url.pathname.startsWith("/api/v1/specs/")) return json(200, { name: "diagnostic_familles", kind: "questionnaire", version: 3, content_hash: "h3", compiled: { items: ["x"] } });
    if (url.pathname === "/api/v1/attachments" && method === "POST") return this.#declare(init.body as string);
    if (url.pathname.startsWith("/api/v1/attachments/")) return this.#attachment(url.pathname.split("/").pop() ?? "", method, headers, init.body as Uint8Array | undefined);
    return json(404, { error: { code: "not_found", message: "?" } });
  };

  #push(body: string): Response {
    const fault = this.faults.shift();
    if (fault === "network") throw new TypeError("Failed to fetch");
    if (fault === "busy") return json(503, { error: { code: "server.busy", message: "Le serveur est trop occupé." } }, { "Retry-After": "7" });
    const parsed = JSON.parse(body) as { records: { id: string; site: string; revision: number; attachments: { sha256: string }[] }[] };
    if (fault === "too-large" && parsed.records.length > 1) return json(413, { error: { code: "sync.batch_too_large", message: "Lot trop gros." } });
    this.pushes.push(parsed.records.map((r) => r.id));
    const results = parsed.records.map((record, index) => {
      if (this.forbiddenSites.has(record.site)) {
        return { index, id: record.id, result: "rejected", code: "sync.site_forbidden", message: `Votre compte ne peut pas envoyer de fiches pour le site ${record.site}.`, details: {} };
      }
      const text = JSON.stringify(record);
      const existing = this.records.get(record.id);
      const missing = record.attachments.map((a) => a.sha256).filter((s) => !this.uploads.get(s)?.complete);
      if (existing) {
        const same = existing.body === text;
        if (!same) existing.status = "conflict";
        return { index, id: record.id, result: same ? "duplicate" : "conflict", status: existing.status, revision: existing.revision, problems: [], missing_attachments: missing };
      }
      this.records.set(record.id, { id: record.id, body: text, revision: record.revision, status: "accepted", seq: ++this.seq, attachments: record.attachments.map((a) => a.sha256), review: null });
      return { index, id: record.id, result: "created", status: "accepted", revision: record.revision, problems: [], missing_attachments: missing };
    });
    if (fault === "store-then-drop") throw new TypeError("connection reset");
    if (fault === "omit-last-result") results.pop();
    return json(200, { batch_id: null, replayed: false, results, counts: {} });
  }

  #pull(url: URL): Response {
    const cursor = url.searchParams.get("cursor");
    const known = cursor === null || /^c\d+$/.test(cursor);
    const after = known && cursor !== null ? Number(cursor.slice(1)) : 0;
    const records = [...this.records.values()].filter((r) => r.seq > after).map((r) => ({
      id: r.id, spec: "diagnostic_familles", version: 3, site: "aire-nord", revision: r.revision, status: r.status,
      problems: [], review: r.review, missing_attachments: r.attachments.filter((s) => !this.uploads.get(s)?.complete), updated_at: "2026-01-01T00:00:00Z",
    }));
    return json(200, {
      cursor: `c${String(this.seq)}`, more: false, reset: !known, server_time: "2026-01-01T00:00:00Z",
      sites: [{ code: "aire-nord", name: "Aire nord" }],
      specs: [{ name: "diagnostic_familles", kind: "questionnaire", title: { fr: "Diagnostic" }, sites: ["aire-nord"],
        versions: [{ version: 2, status: "closed", content_hash: "h2", accepted_until: "2027-01-01T00:00:00Z" }, { version: 3, status: "published", content_hash: "h3" }] }],
      records,
    });
  }

  review(id: string, comment: string): void {
    const r = this.records.get(id);
    if (!r) throw new Error("no record");
    r.review = { decision: "approved", comment, at: null };
    r.seq = ++this.seq;
  }

  #declare(body: string): Response {
    const { sha256, size, media_type } = JSON.parse(body) as { sha256: string; size: number; media_type: string };
    const existing = this.uploads.get(sha256);
    if (existing) return json(200, { sha256, size, media_type, offset: existing.offset, status: existing.complete ? "complete" : "uploading" });
    this.uploads.set(sha256, { size, mediaType: media_type, bytes: new Uint8Array(size), offset: 0, complete: false });
    return json(201, { sha256, size, media_type, offset: 0, status: "uploading" });
  }

  async #attachment(sha: string, method: string, headers: Headers, body: Uint8Array | undefined): Promise<Response> {
    const upload = this.uploads.get(sha);
    if (!upload) return json(404, { error: { code: "attachment.not_found", message: "?" } });
    if (method === "HEAD") return new Response(null, { status: 200, headers: { "Upload-Offset": String(upload.offset), "Upload-Length": String(upload.size) } });
    const offset = Number(headers.get("Upload-Offset"));
    if (offset !== upload.offset) {
      return json(409, { error: { code: "attachment.offset_mismatch", message: "décalage", details: { offset: upload.offset } } }, { "Upload-Offset": String(upload.offset) });
    }
    let chunk = body ?? new Uint8Array(0);
    let drop = false;
    if (this.dropPatchAfter !== null && chunk.length > this.dropPatchAfter) {
      chunk = chunk.subarray(0, this.dropPatchAfter);
      this.dropPatchAfter = null;
      drop = true;
    }
    upload.bytes.set(chunk, offset);
    upload.offset += chunk.length;
    if (drop) throw new TypeError("connection dropped mid-chunk");
    if (upload.offset === upload.size) {
      const digest = Buffer.from(await crypto.subtle.digest("SHA-256", upload.bytes)).toString("hex");
      if (digest !== sha) {
        upload.offset = 0;
        return json(422, { error: { code: "attachment.checksum_mismatch", message: "somme" } });
      }
      upload.complete = true;
    }
    return new Response(null, { status: 204, headers: { "Upload-Offset": String(upload.offset) } });
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}
