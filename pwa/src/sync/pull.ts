/**
 * Pull (docs/sync-protocol.md section 4): sites and specs (complete lists), and the server state of this
 * account's records changed after the stored cursor; pages until `more` is false, the cursor stored in
 * the same transaction as its page. Then the compiled specs not held yet are fetched.
 */
import type { LocalStore } from "../db/index.js";
import { notesAad } from "../db/records.js";
import type { Sealed } from "../db/crypto.js";
import type { Problem, RecordRow, ServerNotes, SpecRow } from "../db/types.js";
import { META_KEYS } from "../db/session.js";
import type { PullOut, SyncApi } from "./api.js";

export interface PullReport {
  pages: number;
  /** Local records whose server state was updated. */
  records: number;
  /** The server did not know the cursor and answered from the start. */
  reset: boolean;
  specsFetched: number;
}

export interface PullOptions {
  limit?: number;
  now?: () => number;
  /** Safety bound on pages in one run (a server bug must not loop forever). */
  maxPages?: number;
}

export async function pullAll(store: LocalStore, api: SyncApi, token: string, options: PullOptions = {}): Promise<PullReport> {
  const now = options.now ?? Date.now;
  const report: PullReport = { pages: 0, records: 0, reset: false, specsFetched: 0 };
  const maxPages = options.maxPages ?? 1000;
  for (;;) {
    const cursor = await store.session.pullCursor();
    const page = await api.pull(token, cursor, options.limit ?? 200);
    report.pages += 1;
    report.reset ||= page.reset;
    report.records += await applyPage(store, page);
    if (!page.more || report.pages >= maxPages) break;
  }
  await store.session.setLastPullAt(now());
  report.specsFetched = await fetchCompiledSpecs(store, api, token);
  return report;
}

async function applyPage(store: LocalStore, page: PullOut): Promise<number> {
  const { db, vault } = store;
  // Notes encrypted before the transaction (WebCrypto inside it would end it).
  const sealedNotes = new Map<string, Sealed>();
  for (const state of page.records) {
    const id = state.id.toLowerCase();
    if (!(await db.records.get(id))) continue;
    const notes: ServerNotes = { problems: state.problems as Problem[], reviewComment: state.review?.comment ?? null, rejection: null };
    sealedNotes.set(id, await vault.seal(notes, notesAad(id)));
  }
  let updated = 0;
  await db.transaction("rw", [db.sites, db.specs, db.records, db.meta], async () => {
    // Sites and specs are complete lists: replace.
    await db.sites.clear();
    await db.sites.bulkPut(page.sites.map((s) => ({ code: s.code, name: s.name })));
    for (const spec of page.specs) {
      for (const v of spec.versions) {
        const existing = await db.specs.get([spec.name, v.version]);
        const row: SpecRow = {
          name: spec.name,
          version: v.version,
          kind: spec.kind,
          title: spec.title,
          sites: spec.sites,
          status: v.status,
          contentHash: v.content_hash,
          publishedAt: v.published_at ?? null,
          closedAt: v.closed_at ?? null,
          acceptedUntil: v.accepted_until ?? null,
          // A published version never changes: keep the compiled spec while the hash is the same.
          compiled: existing?.contentHash === v.content_hash ? existing.compiled : null,
        };
        await db.specs.put(row);
      }
    }
    for (const state of page.records) {
      const id = state.id.toLowerCase();
      const row = await db.records.get(id);
      if (!row) continue; // collected on another device or before a reinstall: nothing to update here
      const changes: Partial<RecordRow> = {
        serverStatus: state.status,
        reviewDecision: state.review?.decision ?? null,
        missingAttachments: state.missing_attachments,
        // Sticky until the record is refreshed or reopened: a coordinator's newer revision exists.
        serverAhead: row.serverAhead || (row.serverRevision !== null && state.revision > row.serverRevision),
      };
      if (row.status === "sent") {
        changes.serverRevision = state.revision;
        const notes = sealedNotes.get(id);
        if (notes) changes.serverNotes = notes;
      }
      await db.records.update(id, changes);
      updated += 1;
    }
    await db.meta.put({ key: META_KEYS.cursor, value: page.cursor });
  });
  return updated;
}

/** Fetches the compiled spec of every version held without it (new, or changed hash). */
async function fetchCompiledSpecs(store: LocalStore, api: SyncApi, token: string): Promise<number> {
  const missing = await store.db.specs.filter((s) => s.compiled === null).toArray();
  let fetched = 0;
  for (const spec of missing) {
    const out = await api.specVersion(token, spec.name, spec.version);
    await store.db.specs.update([spec.name, spec.version], { compiled: out.compiled });
    fetched += 1;
  }
  return fetched;
}
