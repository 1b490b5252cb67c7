import { useEffect, useState } from "preact/hooks";
import type { LocalRecord, RecordSummary } from "../../db/index.js";
import { dataVersion, outboxChanged, store } from "../app-state.js";
import { Badge, Banner } from "../components.js";
import { lang, t } from "../i18n.js";
import { go } from "../router.js";
import { routeFor } from "./Home.js";

const ORDER = { attention: 0, sending: 1, waiting: 2, draft: 3, sent: 4 } as const;
const DECISIONS = {
  fr: { reviewed: "vue", approved: "validée", rejected: "refusée" },
  en: { reviewed: "reviewed", approved: "approved", rejected: "rejected" },
} as const;

/** Every record on the device with where it stands; what needs the user first. */
export function Outbox() {
  const current = store.value;
  const [records, setRecords] = useState<RecordSummary[]>([]);
  const [details, setDetails] = useState<Map<string, LocalRecord>>(new Map());
  const version = dataVersion.value;
  useEffect(() => {
    if (!current) return;
    void (async () => {
      const list = (await current.records.list()).sort(
        (a, b) => ORDER[a.status] - ORDER[b.status] || b.updatedAt - a.updatedAt,
      );
      setRecords(list);
      // Reasons and coordinators' comments are encrypted: open only the records that have some.
      const withNotes = list.filter((r) => r.status === "attention" || r.reviewDecision !== null || r.serverStatus === "needs_review");
      const opened = await Promise.all(withNotes.map((r) => current.records.get(r.id)));
      setDetails(new Map(opened.map((r) => [r.id, r])));
    })();
  }, [current, version]);
  if (!current) return null;
  return (
    <main id="main">
      <h2>{t("outbox.title")}</h2>
      {records.length === 0 ? <p>{t("outbox.empty")}</p> : null}
      <ul class="list card">
        {records.map((record) => {
          const detail = details.get(record.id);
          return (
            <li key={record.id} data-status={record.status}>
              <span>
                {record.title} <Badge status={record.status} />
                <br />
                <span class="hint">{new Date(record.updatedAt).toLocaleString(lang.value === "fr" ? "fr-FR" : "en-GB")}</span>
                {record.status === "attention" && detail?.notes?.rejection ? (
                  <Banner kind="err">{detail.notes.rejection.message}</Banner>
                ) : null}
                {record.serverStatus === "needs_review" ? (
                  <Banner kind="warn">
                    {t("outbox.needs_review")}
                    {detail?.notes?.problems.length ? (
                      <ul>
                        {detail.notes.problems.slice(0, 5).map((p, i) => (
                          <li key={i}>{typeof p.message === "string" ? p.message : (p.message?.[lang.value] ?? p.message?.fr ?? p.code)}</li>
                        ))}
                      </ul>
                    ) : null}
                  </Banner>
                ) : null}
                {record.reviewDecision ? (
                  <Banner kind={record.reviewDecision === "rejected" ? "err" : "info"}>
                    {t("outbox.review", { decision: DECISIONS[lang.value][record.reviewDecision] })}
                    {detail?.notes?.reviewComment ? ` — « ${detail.notes.reviewComment} »` : ""}
                  </Banner>
                ) : null}
              </span>
              {record.status === "attention" ? (
                <span class="row">
                  <button type="button" onClick={() => void current.records.backToDraft(record.id).then(() => { go(routeFor(record)); })}>
                    {t("outbox.fix")}
                  </button>
                  <button type="button" onClick={() => void current.records.retry(record.id).then(outboxChanged)}>
                    {t("outbox.retry")}
                  </button>
                </span>
              ) : null}
            </li>
          );
        })}
      </ul>
    </main>
  );
}
