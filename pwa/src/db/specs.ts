/** Specs and sites as the last pull left them (docs/sync-protocol.md section 4). */
import type { TerrainDB } from "./schema.js";
import type { SiteRow, SpecRow } from "./types.js";

export async function listSites(db: TerrainDB): Promise<SiteRow[]> {
  return db.sites.orderBy("code").toArray();
}

/**
 * Versions a new record may use on a site: published, compiled spec held, latest version per spec.
 * Closed versions are not offered (drafts already pinned to them stay as they are).
 */
export async function offeredSpecs(db: TerrainDB, siteId: string): Promise<SpecRow[]> {
  const published = await db.specs.where("status").equals("published").toArray();
  const latest = new Map<string, SpecRow>();
  for (const spec of published) {
    if (spec.compiled === null || !spec.sites.includes(siteId)) continue;
    const current = latest.get(spec.name);
    if (!current || spec.version > current.version) latest.set(spec.name, spec);
  }
  return [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The exact version a record is pinned to (its compiled spec may be null until fetched). */
export async function getSpec(db: TerrainDB, name: string, version: number): Promise<SpecRow | undefined> {
  return db.specs.get([name, version]);
}
