import { useEffect, useState } from "preact/hooks";
import { getSpec, type LocalRecord, type LocalStore, type SpecRow } from "../../db/index.js";
import { outboxChanged, store } from "../app-state.js";
import { Banner } from "../components.js";
import { reason } from "../errors.js";
import { specText, t } from "../i18n.js";
import { PagedForm, useRunner } from "../form/FormRunner.js";
import { finaliseRecord, titleOf } from "../records.js";
import { go } from "../router.js";
import { notice } from "./notice.js";

interface Loaded {
  record: LocalRecord;
  spec: SpecRow;
}

/** Loads a record and its pinned spec version (a draft stays on the version it was started with). */
export function useRecord(id: string, refresh = 0): { loaded: Loaded | null; error: string | null } {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const current = store.value;
    if (!current) return;
    void (async () => {
      const record = await current.records.get(id);
      const spec = await getSpec(current.db, record.spec, record.version);
      if (!spec || spec.compiled === null) throw new Error(`${record.spec} v${record.version} : spécification absente de l'appareil`);
      setLoaded({ record, spec });
    })().catch((failure: unknown) => {
      setError(reason(failure));
    });
  }, [id, refresh]);
  return { loaded, error };
}

export function Fill(props: { id: string }) {
  const { loaded, error } = useRecord(props.id);
  if (error) return <main id="main"><Banner kind="err">{error}</Banner></main>;
  if (!loaded) return <main id="main"><p>{t("app.loading")}</p></main>;
  if (!store.value) return null;
  return <FillLoaded record={loaded.record} spec={loaded.spec} store={store.value} />;
}

function FillLoaded(props: { record: LocalRecord; spec: SpecRow; store: LocalStore }) {
  const { record, spec, store: current } = props;
  const runner = useRunner({
    store: current,
    recordId: record.id,
    spec: spec.compiled,
    answers: record.content.answers,
    attachments: record.content.attachments,
  });
  return (
    <main id="main">
      <h2>{specText(titleOf(spec))}</h2>
      {record.status === "attention" && record.notes?.rejection ? (
        <Banner kind="err">{record.notes.rejection.message}</Banner>
      ) : null}
      <PagedForm
        runner={runner}
        recordId={record.id}
        onFinish={async () => {
          await finaliseRecord(current, record.id, spec, runner.form.validateAll());
          notice.value = t("form.done");
          outboxChanged();
          go({ name: "home" });
        }}
      />
    </main>
  );
}
