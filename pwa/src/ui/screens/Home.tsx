import { useEffect, useState } from "preact/hooks";
import { listSites, offeredSpecs, type RecordSummary, type SiteRow, type SpecRow } from "../../db/index.js";
import { dataVersion, session, store } from "../app-state.js";
import { Badge, Banner, Confirm } from "../components.js";
import { reason } from "../errors.js";
import { lang, specText, t } from "../i18n.js";
import { startRecord, titleOf } from "../records.js";
import { go, type Route } from "../router.js";

const KIND_ORDER = [
  ["questionnaire", "home.questionnaires"],
  ["interview_guide", "home.guides"],
  ["observation_log", "home.logs"],
] as const;

export function routeFor(record: { id: string; kind: string; spec: string; version: number }): Route {
  if (record.kind === "interview_guide") return { name: "interview", id: record.id };
  if (record.kind === "observation_log") return { name: "log", spec: record.spec, version: record.version };
  return { name: "fill", id: record.id };
}

/** Choose a site; the forms offered there; the drafts to resume. */
export function Home() {
  const current = store.value;
  const [sites, setSites] = useState<SiteRow[]>([]);
  const [site, setSite] = useState<string | null>(null);
  const [specs, setSpecs] = useState<SpecRow[]>([]);
  const [drafts, setDrafts] = useState<RecordSummary[]>([]);
  const [closed, setClosed] = useState<string[]>([]);
  const [deleting, setDeleting] = useState<RecordSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const version = dataVersion.value;

  useEffect(() => {
    if (!current) return;
    void (async () => {
      const mine = session.value?.sites ?? [];
      const all = (await listSites(current.db)).filter((s) => mine.length === 0 || mine.includes(s.code));
      setSites(all);
      const saved = await current.session.currentSite();
      const chosen = saved ?? (all.length === 1 ? (all[0]?.code ?? null) : null);
      const valid = chosen && all.some((s) => s.code === chosen) ? chosen : null;
      // One site: it is the site; remembered so that every screen (the log's quick entry) knows it.
      if (valid !== saved) await current.session.setCurrentSite(valid);
      setSite(valid);
    })().catch((failure: unknown) => {
      setError(reason(failure));
    });
  }, [current, version]);

  useEffect(() => {
    if (!current || !site) return;
    void (async () => {
      setSpecs(await offeredSpecs(current.db, site));
      const list = await current.records.list({ siteId: site, status: ["draft", "attention"] });
      setDrafts(list.sort((a, b) => b.updatedAt - a.updatedAt));
      const closedVersions = await current.db.specs.where("status").equals("closed").toArray();
      setClosed(
        closedVersions
          .filter((v) => list.some((d) => d.spec === v.name && d.version === v.version))
          .map((v) => `${specText(titleOf(v))} (${t("home.version", { n: v.version })})`),
      );
    })().catch((failure: unknown) => {
      setError(reason(failure));
    });
  }, [current, site, version]);

  if (!current) return null;
  const chooseSite = async (code: string) => {
    setSite(code || null);
    await current.session.setCurrentSite(code || null);
  };
  const start = async (spec: SpecRow) => {
    if (!site) return;
    if (spec.kind === "observation_log") {
      go({ name: "log", spec: spec.name, version: spec.version });
      return;
    }
    const who = { email: session.value?.email ?? "", deviceName: session.value?.deviceName ?? "" };
    const id = await startRecord(current, spec, site, who, specText(titleOf(spec)));
    go(routeFor({ id, kind: spec.kind, spec: spec.name, version: spec.version }));
  };

  return (
    <main id="main">
      <h2>{t("home.title")}</h2>
      {error ? <Banner kind="err">{error}</Banner> : null}
      {sites.length === 0 ? <Banner kind="warn">{t("home.nosite")}</Banner> : null}
      {sites.length > 0 ? (
        <div class="card">
          <label for="site">{t("home.site")}</label>
          <select id="site" value={site ?? ""} onChange={(e) => void chooseSite(e.currentTarget.value)}>
            <option value="">{t("home.site.choose")}</option>
            {sites.map((s) => (
              <option key={s.code} value={s.code}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {site && specs.length === 0 ? <Banner>{t("home.nospecs")}</Banner> : null}
      {site
        ? KIND_ORDER.map(([kind, title]) => {
            const ofKind = specs.filter((s) => s.kind === kind);
            if (ofKind.length === 0) return null;
            return (
              <section key={kind} class="card" aria-labelledby={`kind-${kind}`}>
                <h3 id={`kind-${kind}`}>{t(title)}</h3>
                <ul class="list">
                  {ofKind.map((spec) => (
                    <li key={spec.name}>
                      <span>
                        {specText(titleOf(spec), lang.value)} <span class="hint">{t("home.version", { n: spec.version })}</span>
                      </span>
                      <button type="button" class="primary" onClick={() => void start(spec)}>
                        {kind === "observation_log" ? t("log.title") : t("home.start")}
                        <span class="sr-only"> : {specText(titleOf(spec), lang.value)}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            );
          })
        : null}
      {site ? (
        <section class="card" aria-labelledby="drafts">
          <h3 id="drafts">{t("home.drafts")}</h3>
          {closed.length > 0 ? <Banner kind="warn">{t("home.closed")} {closed.join(", ")}</Banner> : null}
          {drafts.length === 0 ? <p>{t("home.nodrafts")}</p> : null}
          <ul class="list">
            {drafts.map((draft) => (
              <li key={draft.id}>
                <span>
                  {draft.title} <Badge status={draft.status} />
                  <br />
                  <span class="hint">{new Date(draft.updatedAt).toLocaleString(lang.value === "fr" ? "fr-FR" : "en-GB")}</span>
                </span>
                <span class="row">
                  <button type="button" onClick={() => { go(routeFor(draft)); }}>
                    {t("home.resume")}
                    <span class="sr-only"> : {draft.title}</span>
                  </button>
                  <button
                    type="button"
                    onClick={() =>
                      void current.records.duplicateAsNew(draft.id).then((copy) => {
                        go(routeFor(copy));
                      })
                    }
                  >
                    {t("home.duplicate")}
                    <span class="sr-only"> : {draft.title}</span>
                  </button>
                  {draft.status === "draft" ? (
                    <button type="button" class="danger" onClick={() => { setDeleting(draft); }}>
                      {t("home.delete")}
                      <span class="sr-only"> : {draft.title}</span>
                    </button>
                  ) : null}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {deleting ? (
        <Confirm
          message={t("home.delete.confirm")}
          onConfirm={() => {
            void current.records.deleteDraft(deleting.id).then(() => {
              setDeleting(null);
              dataVersion.value++;
            });
          }}
          onCancel={() => { setDeleting(null); }}
        />
      ) : null}
    </main>
  );
}
