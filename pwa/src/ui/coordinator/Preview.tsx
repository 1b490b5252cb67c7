// A spec as a field worker will fill it: the real form engine and the field app's own item components,
// but nothing is saved (answers live in memory, attachments as object URLs) and nothing is sent.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { deviceClock } from "../../engine/expressions/index.js";
import { createForm, type FormSession } from "../../engine/form/index.js";
import { lang, specText } from "../i18n.js";
import { Item, repeatItems, type FieldContext } from "../form/fields.js";
import { errorText } from "./api.js";
import { m } from "./messages.js";

interface Audience {
  name: string;
  label: unknown;
}

async function sha256(blob: Blob): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function Preview(props: { spec: Record<string, unknown> }) {
  const audiences = useMemo(
    () => (Array.isArray(props.spec["audiences"]) ? (props.spec["audiences"] as Audience[]) : []),
    [props.spec],
  );
  const [audience, setAudience] = useState<string>(audiences[0]?.name ?? "");
  const [restart, setRestart] = useState(0);
  const built = useMemo((): { form: FormSession } | { error: string } => {
    try {
      return { form: createForm(props.spec, { lang: lang.value, clock: deviceClock(), audience: audience || null }) };
    } catch (failure) {
      return { error: errorText(failure) };
    }
  }, [props.spec, audience, lang.value, restart]);
  return (
    <section class="card" aria-labelledby="preview-title">
      <h3 id="preview-title">{m("preview.title")}</h3>
      <p class="hint">{m("preview.intro")}</p>
      <div class="row">
        {audiences.length > 0 ? (
          <label>
            {m("preview.audience")}{" "}
            <select
              value={audience}
              onChange={(e) => {
                setAudience(e.currentTarget.value);
              }}
            >
              {audiences.map((a) => (
                <option key={a.name} value={a.name}>
                  {specText(a.label) || a.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <button
          type="button"
          onClick={() => {
            setRestart((n) => n + 1);
          }}
        >
          {m("preview.restart")}
        </button>
      </div>
      {"error" in built ? (
        <p class="error" role="alert">
          {m("preview.failed", { reason: built.error })}
        </p>
      ) : (
        <PreviewForm key={`${audience}.${String(restart)}`} form={built.form} spec={props.spec} audience={audience} />
      )}
    </section>
  );
}

interface GuideTheme {
  name: string;
  question: unknown;
  wording?: Record<string, unknown>;
  prompts?: unknown[];
  key?: boolean;
  duration?: number | null;
}

/** The theme's main question in the audience's wording, its prompts, whether it is key, its time budget. */
function ThemeHeader(props: { theme: GuideTheme; audience: string }) {
  const { theme } = props;
  return (
    <div>
      {theme.key ? <p><strong>★ {m("preview.key")}</strong></p> : null}
      <p>
        <strong>{specText(theme.wording?.[props.audience] ?? theme.question)}</strong>
      </p>
      {theme.prompts?.length ? (
        <ul aria-label={m("preview.prompts")}>
          {theme.prompts.map((prompt, i) => (
            <li key={i}>{specText(prompt)}</li>
          ))}
        </ul>
      ) : null}
      {theme.duration ? <p class="hint">{m("preview.duration", { n: theme.duration })}</p> : null}
    </div>
  );
}

function PreviewForm(props: { form: FormSession; spec: unknown; audience: string }) {
  const { form } = props;
  const blockItems = useMemo(() => repeatItems(props.spec), [props.spec]);
  const [, setVersion] = useState(0);
  const [touched] = useState(() => new Set<string>());
  const [all, setAll] = useState(false);
  const [index, setIndex] = useState(0);
  const [message, setMessage] = useState<string | null>(null);
  const urls = useRef(new Map<string, string>());
  useEffect(
    () => () => {
      for (const url of urls.current.values()) URL.revokeObjectURL(url);
    },
    [],
  );

  const changed = () => {
    // Repeats driven by a count follow it, as in the field app.
    for (const state of form.state()) {
      if (state.kind === "repeat" && state.expected != null && state.instances?.length !== state.expected) {
        form.syncCount(state.path);
      }
    }
    setVersion((v) => v + 1);
  };
  const ctx: FieldContext = {
    form,
    blockItems,
    set(path, value) {
      form.set(path, value as never);
      changed();
    },
    async attach(path, _item, blob) {
      const hash = await sha256(blob);
      urls.current.set(hash, URL.createObjectURL(blob));
      form.set(path, { sha256: hash, media_type: blob.type || "application/octet-stream", size: blob.size });
      changed();
    },
    addInstance(path) {
      form.addInstance(path);
      changed();
    },
    removeInstance(path, i) {
      form.removeInstance(path, i);
      changed();
    },
    showError: (path) => all || touched.has(path),
    touch(path) {
      if (!touched.has(path)) {
        touched.add(path);
        setVersion((v) => v + 1);
      }
    },
    preview: (hash) => Promise.resolve(urls.current.get(hash) ?? null),
  };

  const pages = form.pages().filter((page) => page.visible);
  const current = Math.min(index, Math.max(0, pages.length - 1));
  const page = pages[current];
  const guide = props.spec as { kind?: string; themes?: GuideTheme[] };
  const theme = guide.kind === "interview_guide" ? guide.themes?.find((t) => t.name === page?.id) : undefined;
  const check = () => {
    const result = form.validateAll();
    setAll(true);
    setMessage(result.ok ? m("preview.valid") : m("preview.invalid", { n: result.problems.length }));
  };
  return (
    <form
      noValidate
      aria-label={m("preview.title")}
      onSubmit={(e) => {
        e.preventDefault();
      }}
    >
      {pages.length > 1 ? <p class="hint">{m("preview.page", { n: current + 1, total: pages.length })}</p> : null}
      {guide.kind === "interview_guide" && pages.length > 0 ? (
        // Interview mode: themes reachable in any order, as the evaluator sees them.
        <nav class="theme-list" aria-label={m("preview.themes")}>
          {pages.map((p, i) => (
            <button
              type="button"
              key={p.id}
              aria-current={i === current ? "true" : undefined}
              onClick={() => {
                setIndex(i);
              }}
            >
              {p.title}
            </button>
          ))}
        </nav>
      ) : null}
      {page?.title ? <h4>{page.title}</h4> : null}
      {theme ? <ThemeHeader theme={theme} audience={props.audience} /> : null}
      {page?.items.map((path) => <Item key={path} path={path} ctx={ctx} />)}
      {pages.length === 0 ? <p>{m("preview.empty")}</p> : null}
      <div class="row">
        {current > 0 ? (
          <button
            type="button"
            onClick={() => {
              setIndex(current - 1);
            }}
          >
            {m("preview.prev")}
          </button>
        ) : null}
        {current < pages.length - 1 ? (
          <button
            type="button"
            class="primary"
            onClick={() => {
              setIndex(current + 1);
            }}
          >
            {m("preview.next")}
          </button>
        ) : null}
        <button type="button" onClick={check}>
          {m("preview.check")}
        </button>
      </div>
      {message ? (
        <p role="status" class="hint">
          {message}
        </p>
      ) : null}
    </form>
  );
}
