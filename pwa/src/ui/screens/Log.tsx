// Observation log: many small entries a day. One screen: the entry being typed (counters for people,
// the last entry's choices and dates remembered), saved with one button, then a fresh entry at once;
// the day's entries listed by their titles.
import { useEffect, useState } from "preact/hooks";
import { getSpec, type LocalRecord, type LocalStore, type RecordSummary, type SpecRow } from "../../db/index.js";
import { dataVersion, outboxChanged, session, store } from "../app-state.js";
import { Badge, Banner } from "../components.js";
import { reason } from "../errors.js";
import { PagedForm, useRunner } from "../form/FormRunner.js";
import { lang, specText, t } from "../i18n.js";
import { finaliseRecord, startRecord, titleOf } from "../records.js";
import { notice } from "./notice.js";

/** Types whose last value is a sensible default for the next entry (not free text, not files). */
const REMEMBERED = new Set(["single_choice", "multiple_choice", "yes_no", "date", "likert"]);

function remembered(spec: unknown, answers: Record<string, unknown>): Record<string, unknown> {
  const types = new Map<string, string>();
  const walk = (items: unknown) => {
    if (!Array.isArray(items)) return;
    for (const item of items as Record<string, unknown>[]) {
      if (item["type"] !== "repeat") {
        types.set(String(item["name"]), String(item["type"]));
        walk(item["items"]);
      }
    }
  };
  walk((spec as Record<string, unknown>)["items"]);
  return Object.fromEntries(Object.entries(answers).filter(([name]) => REMEMBERED.has(types.get(name) ?? "")));
}

export function Log(props: { spec: string; version: number }) {
  const current = store.value;
  const [spec, setSpec] = useState<SpecRow | null>(null);
  const [entry, setEntry] = useState<LocalRecord | null>(null);
  const [entries, setEntries] = useState<RecordSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const version = dataVersion.value;

  const openEntry = async (opened: LocalStore, row: SpecRow, previous: Record<string, unknown>) => {
    const site = await opened.session.currentSite();
    if (!site) throw new Error(t("home.site.choose"));
    const drafts = await opened.records.list({ siteId: site, spec: row.name, version: row.version, status: "draft" });
    const latest = drafts.sort((a, b) => b.updatedAt - a.updatedAt)[0];
    const who = { email: session.value?.email ?? "", deviceName: session.value?.deviceName ?? "" };
    const id = latest?.id ?? (await startRecord(opened, row, site, who, specText(titleOf(row))));
    if (!latest && Object.keys(previous).length > 0) await opened.records.saveAnswers(id, { answers: previous });
    setEntry(await opened.records.get(id));
  };

  useEffect(() => {
    if (!current) return;
    void (async () => {
      const row = await getSpec(current.db, props.spec, props.version);
      if (!row || row.compiled === null) throw new Error(`${props.spec} v${props.version} : spécification absente de l'appareil`);
      setSpec(row);
      await openEntry(current, row, {});
    })().catch((failure: unknown) => {
      setError(reason(failure));
    });
  }, [current, props.spec, props.version]);

  useEffect(() => {
    if (!current) return;
    void (async () => {
      const site = await current.session.currentSite();
      const list = await current.records.list({ spec: props.spec, version: props.version, ...(site ? { siteId: site } : {}) });
      setEntries(list.filter((r) => r.status !== "draft").sort((a, b) => b.createdAt - a.createdAt));
    })();
  }, [current, props.spec, props.version, version, entry?.id]);

  if (!current) return null;
  if (error) return <main id="main"><Banner kind="err">{error}</Banner></main>;
  if (!spec || !entry) return <main id="main"><p>{t("app.loading")}</p></main>;
  return (
    <main id="main">
      <h2>
        {specText(titleOf(spec))} — {t("log.title")}
      </h2>
      <Entry
        key={entry.id}
        store={current}
        spec={spec}
        entry={entry}
        onSaved={async (answers) => {
          notice.value = t("log.saved");
          outboxChanged();
          await openEntry(current, spec, remembered(spec.compiled, answers));
        }}
      />
      <section class="card" aria-labelledby="entries">
        <h3 id="entries">{t("log.entries")}</h3>
        <ul class="list">
          {entries.map((e) => (
            <li key={e.id}>
              <span>
                {e.title}
                <br />
                <span class="hint">{new Date(e.createdAt).toLocaleString(lang.value === "fr" ? "fr-FR" : "en-GB")}</span>
              </span>
              <Badge status={e.status} />
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

function Entry(props: { store: LocalStore; spec: SpecRow; entry: LocalRecord; onSaved: (answers: Record<string, unknown>) => Promise<void> }) {
  const { store: current, spec, entry } = props;
  const runner = useRunner({
    store: current,
    recordId: entry.id,
    spec: spec.compiled,
    answers: entry.content.answers,
    attachments: entry.content.attachments,
    counters: true,
  });
  return (
    <PagedForm
      runner={runner}
      recordId={entry.id}
      finishLabel={t("log.save")}
      single
      onFinish={async () => {
        const checked = runner.form.validateAll();
        const title = runner.form.entryTitle() ?? specText(titleOf(spec));
        await current.records.saveAnswers(entry.id, { title });
        await finaliseRecord(current, entry.id, spec, checked);
        await props.onSaved({ ...checked.answers });
      }}
    />
  );
}
