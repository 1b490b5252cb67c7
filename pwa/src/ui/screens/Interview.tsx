// Interview mode for semi-directive guides: audience and consent first, then themes in any order, each
// visit timestamped from the start of the interview and, when recorded, from the start of the recording.
import { useEffect, useRef, useState } from "preact/hooks";
import { isoWithOffset, type InterviewData, type LocalRecord, type LocalStore, type SpecRow } from "../../db/index.js";
import { outboxChanged, session, store } from "../app-state.js";
import { Banner } from "../components.js";
import { reason } from "../errors.js";
import { Item } from "../form/fields.js";
import { useRunner } from "../form/FormRunner.js";
import { specText, t } from "../i18n.js";
import { startRecording, type Recorder } from "../media.js";
import { finaliseRecord, titleOf } from "../records.js";
import { go } from "../router.js";
import { useRecord } from "./Fill.js";
import { notice } from "./notice.js";

interface Theme {
  name: string;
  title: unknown;
  question: unknown;
  wording: Record<string, unknown>;
  prompts: unknown[];
  key: boolean;
  duration: number | null;
  audiences: string[];
  covered: boolean;
  notes_hint: unknown;
}

interface Guide {
  audiences: { name: string; label: unknown }[];
  introduction: unknown;
  consent: { mode: string; text: unknown } | null;
  themes: Theme[];
}

type Visit = NonNullable<InterviewData["timeline"]>[number];

export function Interview(props: { id: string }) {
  const [refresh, setRefresh] = useState(0);
  const { loaded, error } = useRecord(props.id, refresh);
  if (error) return <main id="main"><Banner kind="err">{error}</Banner></main>;
  if (!loaded || !store.value) return <main id="main"><p>{t("app.loading")}</p></main>;
  const interview = loaded.record.content.interview ?? {};
  if (!interview.audience || !interview.consent) {
    return <Setup record={loaded.record} spec={loaded.spec} store={store.value} onReady={() => { setRefresh((n) => n + 1); }} />;
  }
  return <Conduct record={loaded.record} spec={loaded.spec} store={store.value} />;
}

function Setup(props: { record: LocalRecord; spec: SpecRow; store: LocalStore; onReady: () => void }) {
  const guide = props.spec.compiled as Guide;
  const recordingAllowed = guide.consent?.mode === "recording_allowed";
  const [audience, setAudience] = useState(guide.audiences.length === 1 ? (guide.audiences[0]?.name ?? "") : "");
  const [mode, setMode] = useState<"recording" | "notes_only" | "">(recordingAllowed ? "" : "notes_only");
  const [refusal, setRefusal] = useState("");
  const [error, setError] = useState<string | null>(null);
  const begin = async () => {
    if (!audience || !mode) {
      setError(t("form.required"));
      return;
    }
    const now = Date.now();
    const interview: InterviewData = {
      audience,
      consent: {
        mode,
        given_at: isoWithOffset(now),
        collected_by: session.value?.displayName || session.value?.email || "?",
        ...(mode === "notes_only" && recordingAllowed && refusal.trim() ? { refusal_notes: refusal.trim() } : {}),
      },
      recording: null,
      timeline: [],
    };
    await props.store.records.saveAnswers(props.record.id, { interview, startedAt: isoWithOffset(now) });
    props.onReady();
  };
  return (
    <main id="main">
      <h2>{specText(titleOf(props.spec))}</h2>
      {guide.introduction ? <p>{specText(guide.introduction)}</p> : null}
      {error ? <Banner kind="err">{error}</Banner> : null}
      <fieldset class="card">
        <legend class="required">{t("interview.audience")}</legend>
        {guide.audiences.map((a) => (
          <label class="choice" key={a.name}>
            <input type="radio" name="audience" checked={audience === a.name} onChange={() => { setAudience(a.name); }} />
            {specText(a.label)}
          </label>
        ))}
      </fieldset>
      <fieldset class="card">
        <legend class="required">{t("interview.consent")}</legend>
        {guide.consent ? <p>{specText(guide.consent.text)}</p> : null}
        {recordingAllowed ? (
          <label class="choice">
            <input type="radio" name="consent" checked={mode === "recording"} onChange={() => { setMode("recording"); }} />
            {t("interview.consent.recording")}
          </label>
        ) : null}
        <label class="choice">
          <input type="radio" name="consent" checked={mode === "notes_only"} onChange={() => { setMode("notes_only"); }} />
          {recordingAllowed ? t("interview.consent.refused") : t("interview.consent.notes")}
        </label>
        {mode === "notes_only" && recordingAllowed ? (
          <div>
            <label for="refusal">{t("interview.notes")}</label>
            <textarea id="refusal" value={refusal} onInput={(e) => { setRefusal(e.currentTarget.value); }} />
          </div>
        ) : null}
      </fieldset>
      <button type="button" class="primary" onClick={() => void begin()}>
        {t("interview.start")}
      </button>
    </main>
  );
}

function Conduct(props: { record: LocalRecord; spec: SpecRow; store: LocalStore }) {
  const { record, spec, store: current } = props;
  const guide = spec.compiled as Guide;
  const content = record.content;
  const interview = useRef<InterviewData>({ ...(content.interview ?? {}) });
  const audience = interview.current.audience ?? "";
  const runner = useRunner({
    store: current,
    recordId: record.id,
    spec: spec.compiled,
    answers: content.answers,
    attachments: content.attachments,
    audience,
  });
  const themes = guide.themes.filter((theme) => theme.audiences.length === 0 || theme.audiences.includes(audience));
  const [active, setActive] = useState<string | null>(null);
  const [, tick] = useState(0);
  const [recorder, setRecorder] = useState<Recorder | null>(null);
  const [error, setError] = useState<string | null>(null);
  const visitStart = useRef<number | null>(null);
  const recordingStartedAt = useRef<number | null>(
    interview.current.recording ? Date.parse(interview.current.recording.started_at) : null,
  );

  useEffect(() => {
    const timer = setInterval(() => { tick((n) => n + 1); }, 15_000);
    return () => { clearInterval(timer); };
  }, []);

  const saveInterview = () => current.records.saveAnswers(record.id, { interview: { ...interview.current } });

  /** Closes the open visit into the timeline (seconds from the interview's start and the recording's). */
  const closeVisit = () => {
    if (!active || visitStart.current === null) return;
    const now = Date.now();
    const startedAt = Date.parse(content.startedAt ?? new Date(now).toISOString());
    const visit: Visit = {
      theme: active,
      start: Math.max(0, (visitStart.current - startedAt) / 1000),
      end: Math.max(0, (now - startedAt) / 1000),
    };
    const recStart = recordingStartedAt.current;
    if (recStart !== null) {
      visit.recording_start = Math.max(0, (visitStart.current - recStart) / 1000);
      visit.recording_end = Math.max(visit.recording_start, (now - recStart) / 1000);
    }
    interview.current.timeline = [...(interview.current.timeline ?? []), visit];
    visitStart.current = null;
  };

  const open = async (name: string) => {
    closeVisit();
    setActive(name);
    visitStart.current = Date.now();
    // On a phone the theme opens below the list: take the reader (and the screen reader) there.
    requestAnimationFrame(() => {
      const title = document.getElementById("theme-title");
      title?.focus();
      title?.scrollIntoView({ block: "start" });
    });
    await saveInterview();
  };

  const spent = (name: string): number => {
    const closed = (interview.current.timeline ?? []).filter((v) => v.theme === name).reduce((sum, v) => sum + (v.end - v.start), 0);
    const running = active === name && visitStart.current !== null ? (Date.now() - visitStart.current) / 1000 : 0;
    return Math.round((closed + running) / 60);
  };

  const toggleRecording = async () => {
    setError(null);
    try {
      if (recorder) {
        const done = await recorder.stop();
        setRecorder(null);
        const ref = await current.files.attach(record.id, "enregistrement", done.blob);
        interview.current.recording = { sha256: ref.sha256, started_at: isoWithOffset(recordingStartedAt.current ?? Date.now()) };
        await saveInterview();
      } else {
        const started = await startRecording();
        setRecorder(started);
        // Visits already closed had no recording: they start at 0 of it.
        recordingStartedAt.current = Date.now();
        interview.current.timeline = (interview.current.timeline ?? []).map((v) => ({ ...v, recording_start: 0, recording_end: 0 }));
      }
    } catch (failure) {
      setError(reason(failure));
    }
  };

  const finish = async () => {
    if (recorder) await toggleRecording();
    closeVisit();
    if (recordingStartedAt.current === null) interview.current.recording = null;
    await saveInterview();
    await runner.flush();
    const checked = runner.form.validateAll();
    if (!checked.ok) {
      runner.showAll();
      setError(t("form.finish.errors", { n: checked.problems.length }));
      const first = checked.problems[0];
      const theme = themes.find((th) => first?.path.startsWith(th.name) || first?.item.startsWith(`${th.name}__`));
      if (theme) setActive(theme.name);
      return;
    }
    await finaliseRecord(current, record.id, spec, checked);
    notice.value = t("form.done");
    outboxChanged();
    go({ name: "home" });
  };

  const theme = themes.find((th) => th.name === active) ?? null;
  const themeState = theme ? runner.form.item(theme.name) : null;
  return (
    <main id="main">
      <h2>{specText(titleOf(spec))}</h2>
      {error ? <Banner kind="err">{error}</Banner> : null}
      {interview.current.consent?.mode === "recording" ? (
        <div class="row">
          <button type="button" onClick={() => void toggleRecording()} aria-pressed={recorder !== null}>
            {recorder ? t("interview.record.stop") : t("interview.record.start")}
          </button>
          {recorder ? <span role="status">● REC</span> : null}
        </div>
      ) : null}
      <nav class="theme-list card" aria-label={t("interview.themes")}>
        <h3>{t("interview.themes")}</h3>
        {themes.map((th) => {
          const covered = runner.form.item(`${th.name}__covered`).value === "yes";
          return (
            <button type="button" key={th.name} aria-current={active === th.name ? "true" : undefined} onClick={() => void open(th.name)}>
              <span>
                {th.key ? <strong title={t("interview.key")}>★ </strong> : null}
                {specText(th.title)}
                {covered ? " ✓" : ""}
              </span>
              {th.duration ? <span class="hint">{t("interview.budget", { spent: spent(th.name), budget: th.duration })}</span> : null}
            </button>
          );
        })}
      </nav>
      {theme && themeState ? (
        <section class="card" aria-labelledby="theme-title">
          <h3 id="theme-title" tabIndex={-1}>
            {theme.key ? <span>★ {t("interview.key")} — </span> : null}
            {specText(theme.title)}
          </h3>
          <p>
            <strong>{specText(theme.wording[audience] ?? theme.question)}</strong>
          </p>
          {theme.prompts.length > 0 ? (
            <>
              <h4>{t("interview.prompts")}</h4>
              <ul>
                {theme.prompts.map((prompt, i) => (
                  <li key={i}>{specText(prompt)}</li>
                ))}
              </ul>
            </>
          ) : null}
          {(themeState.children ?? []).map((path) => (
            <Item key={path} path={path} ctx={runner.ctx} />
          ))}
        </section>
      ) : null}
      <button type="button" class="primary" onClick={() => void finish()}>
        {t("interview.finish")}
      </button>
    </main>
  );
}
