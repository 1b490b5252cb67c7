// Starting and finishing records: the metadata a spec asks for, filled by the device.
import { isoWithOffset, type LocalStore, type SpecRow } from "../db/index.js";
import type { Validation } from "../engine/form/index.js";

export function metadataAtStart(spec: SpecRow, who: { email: string; deviceName: string }, now = Date.now()): Record<string, unknown> {
  const wanted = metadataKeys(spec);
  const out: Record<string, unknown> = {};
  if (wanted.includes("start")) out["start"] = isoWithOffset(now);
  if (wanted.includes("today")) out["today"] = isoWithOffset(now).slice(0, 10);
  if (wanted.includes("deviceid")) out["deviceid"] = who.deviceName.slice(0, 255);
  if (wanted.includes("username")) out["username"] = who.email.slice(0, 255);
  return out;
}

export function metadataKeys(spec: SpecRow): string[] {
  const compiled = spec.compiled as { metadata?: unknown } | null;
  return Array.isArray(compiled?.metadata) ? (compiled.metadata as unknown[]).map(String) : [];
}

export async function startRecord(
  store: LocalStore,
  spec: SpecRow,
  siteId: string,
  who: { email: string; deviceName: string },
  title: string,
): Promise<string> {
  const draft = await store.records.createDraft({
    spec: spec.name,
    version: spec.version,
    kind: spec.kind,
    siteId,
    title,
    metadata: metadataAtStart(spec, who),
    interview: spec.kind === "interview_guide" ? {} : null,
  });
  return draft.id;
}

/** Finalise with exactly what the engine says the server will receive (answers, files), then queue it. */
export async function finaliseRecord(store: LocalStore, id: string, spec: SpecRow, checked: Validation): Promise<void> {
  const content = await store.records.content(id);
  const metadata = { ...content.metadata };
  const now = Date.now();
  if (metadataKeys(spec).includes("end")) metadata["end"] = isoWithOffset(now);
  await store.records.saveAnswers(id, { answers: { ...checked.answers }, metadata });
  const kept = new Set(checked.attachments.map((a) => a.sha256));
  for (const attachment of content.attachments) {
    const recording = (content.interview?.recording as { sha256?: string } | null | undefined)?.sha256;
    if (!kept.has(attachment.sha256) && attachment.sha256 !== recording) await store.files.detach(id, attachment.sha256);
  }
  await store.records.finalise(id, { finishedAt: isoWithOffset(now) });
}

/** A version's own title (from its compiled spec): the spec-level title is the latest version's. */
export function titleOf(spec: SpecRow): unknown {
  const compiled = spec.compiled as { title?: unknown } | null;
  return compiled?.title ?? spec.title;
}
