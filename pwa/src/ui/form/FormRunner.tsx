// A form being filled: the engine holds its state, every change is saved to the device at once, pages
// are the spec's top-level groups. Used by questionnaires, observation entries and interview themes.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { deviceClock } from "../../engine/expressions/index.js";
import { createForm, type FormSession, type Page, type Problem } from "../../engine/form/index.js";
import type { LocalStore } from "../../db/index.js";
import { onBeforeUpdate } from "../update.js";
import { reason } from "../errors.js";
import { lang, t } from "../i18n.js";
import { Item, repeatItems, type FieldContext } from "./fields.js";

export interface Runner {
  form: FormSession;
  ctx: FieldContext;
  /** Bumped on every change: components re-read the engine. */
  version: number;
  /** Waits for the pending save (before leaving, finalising or updating the app). */
  flush(): Promise<void>;
  showAll(): void;
  saved: boolean;
  /** Why the last save failed (the answers stay in the form; the next change saves them all again). */
  saveError: string | null;
}

/** All item paths under `paths` (groups, matrix rows, repeat blocks), for "which page is this on". */
export function descendants(form: FormSession, paths: readonly string[], blocks: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    out.push(path);
    const state = form.item(path);
    for (const child of state.children ?? []) walk(child);
    for (const instance of state.instances ?? []) {
      for (const name of blocks.get(state.name) ?? []) walk(`${instance.path}.${name}`);
    }
  };
  for (const path of paths) walk(path);
  return out;
}

export function problemsOn(form: FormSession, page: Page, problems: readonly Problem[], blocks: ReadonlyMap<string, readonly string[]>): Problem[] {
  const paths = new Set(descendants(form, page.items, blocks));
  return problems.filter((p) => paths.has(p.path));
}

export function useRunner(options: {
  store: LocalStore;
  recordId: string;
  spec: unknown;
  answers: Record<string, unknown>;
  attachments: readonly { sha256: string; media_type: string; size: number }[];
  audience?: string | null;
  counters?: boolean;
}): Runner {
  const { store, recordId } = options;
  const form = useMemo(
    () =>
      createForm(options.spec, {
        lang: lang.value,
        clock: deviceClock(),
        answers: options.answers as never,
        audience: options.audience ?? null,
        attachments: options.attachments,
      }),
    [options.spec, recordId, options.audience, lang.value],
  );
  const blockItems = useMemo(() => repeatItems(options.spec), [options.spec]);
  const [version, setVersion] = useState(0);
  const [touched] = useState(() => new Set<string>());
  const [all, setAll] = useState(false);
  const [saved, setSaved] = useState(true);
  const [saveError, setSaveError] = useState<string | null>(null);
  const pending = useRef<Promise<void>>(Promise.resolve());

  const save = () => {
    setSaved(false);
    const answers = form.draft();
    // Saves are chained: the last state always lands last, and `flush` waits for it. A failed save is
    // shown (saveError) and does not block the next one, which carries every answer again.
    pending.current = pending.current
      .catch(() => undefined)
      .then(() => store.records.saveAnswers(recordId, { answers: answers }))
      .then(
        () => {
          setSaved(true);
          setSaveError(null);
        },
        (failure: unknown) => {
          setSaveError(t("form.save_failed", { reason: reason(failure) }));
          throw failure;
        },
      );
    return pending.current;
  };

  const changed = () => {
    // Repeats driven by a count follow it (blocks added; trailing empty ones removed).
    for (const state of form.state()) {
      if (state.kind === "repeat" && state.expected != null && state.instances?.length !== state.expected) {
        form.syncCount(state.path);
      }
    }
    setVersion((v) => v + 1);
    save().catch(() => undefined); // a failure is on screen (saveError); the next change retries
  };

  useEffect(() => onBeforeUpdate(() => pending.current), [recordId]);

  const ctx: FieldContext = {
    form,
    blockItems,
    set(path, value) {
      form.set(path, value as never);
      changed();
    },
    async attach(path, item, blob) {
      const ref = await store.files.attach(recordId, item, blob);
      form.set(path, { sha256: ref.sha256, media_type: ref.media_type, size: ref.size });
      changed();
    },
    addInstance(path) {
      form.addInstance(path);
      changed();
    },
    removeInstance(path, index) {
      form.removeInstance(path, index);
      changed();
    },
    showError: (path) => all || touched.has(path),
    ...(options.counters ? { counters: true } : {}),
    touch(path) {
      if (!touched.has(path)) {
        touched.add(path);
        setVersion((v) => v + 1);
      }
    },
    async preview(sha256) {
      const info = await store.files.info(sha256);
      if (!info) return null;
      return URL.createObjectURL(await store.files.blob(sha256));
    },
  };
  return {
    form,
    ctx,
    version,
    saved,
    saveError,
    flush: () => pending.current,
    showAll: () => {
      setAll(true);
    },
  };
}

/** Pages of a questionnaire or an entry, with Previous / Next, and the finish button on the last page. */
export function PagedForm(props: {
  runner: Runner;
  recordId: string;
  onFinish: () => Promise<void>;
  finishLabel?: string;
  /** Everything on one screen (quick entries of a log). */
  single?: boolean;
}) {
  const { runner } = props;
  const { form } = runner;
  const key = `terrain.page.${props.recordId}`;
  const [index, setIndex] = useState(() => Number(sessionStorage.getItem(key) ?? "0") || 0);
  const [message, setMessage] = useState<string | null>(null);
  const visiblePages = form.pages().filter((page) => page.visible);
  const pages: Page[] = props.single
    ? [{ id: "all", title: null, visible: true, items: visiblePages.flatMap((p) => p.items) }]
    : visiblePages;
  const current = Math.min(index, Math.max(0, pages.length - 1));
  const page = pages[current];
  const heading = useRef<HTMLHeadingElement>(null);
  const goTo = (next: number) => {
    setIndex(next);
    sessionStorage.setItem(key, String(next));
    setMessage(null);
    requestAnimationFrame(() => heading.current?.focus());
  };
  const next = () => {
    if (!page) return;
    const problems = problemsOn(form, page, form.validateAll().problems, runner.ctx.blockItems);
    if (problems.length > 0) {
      runner.showAll();
      setMessage(t("form.finish.errors", { n: problems.length }));
      return;
    }
    goTo(current + 1);
  };
  const finish = async () => {
    const checked = form.validateAll();
    if (!checked.ok) {
      runner.showAll();
      const first = pages.findIndex((p) => problemsOn(form, p, checked.problems, runner.ctx.blockItems).length > 0);
      if (first >= 0 && first !== current) goTo(first);
      setMessage(t("form.finish.errors", { n: checked.problems.length }));
      return;
    }
    try {
      await runner.flush();
      sessionStorage.removeItem(key);
      await props.onFinish();
    } catch (failure) {
      // Shown, never swallowed: the record stays a draft on the device.
      setMessage(t("error.generic", { reason: reason(failure) }));
    }
  };
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
      }}
    >
      {pages.length > 1 ? <p class="hint">{t("form.page", { n: current + 1, total: pages.length })}</p> : null}
      {page?.title ? (
        <h3 tabIndex={-1} ref={heading}>
          {page.title}
        </h3>
      ) : (
        <span tabIndex={-1} ref={heading} />
      )}
      {page?.items.map((path) => <Item key={path} path={path} ctx={runner.ctx} />)}
      {message ? (
        <p class="error" role="alert">
          {message}
        </p>
      ) : null}
      <div class="row">
        {current > 0 ? (
          <button type="button" onClick={() => { goTo(current - 1); }}>
            {t("form.prev")}
          </button>
        ) : null}
        {current < pages.length - 1 ? (
          <button type="button" class="primary" onClick={next}>
            {t("form.next")}
          </button>
        ) : (
          <button type="button" class="primary" onClick={() => void finish()}>
            {props.finishLabel ?? t("form.finish")}
          </button>
        )}
        <span class="hint" aria-live="polite">
          {runner.saved ? t("form.saved") : "…"}
        </span>
        {runner.saveError ? (
          <p class="error" role="alert">
            {runner.saveError}
          </p>
        ) : null}
      </div>
    </form>
  );
}
