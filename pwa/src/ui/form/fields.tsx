// One component per item type of the spec language. Each reads its state from the form engine and hands
// new values to `ctx.set`; nothing here evaluates expressions.
import { useEffect, useRef, useState } from "preact/hooks";
import type { AttachmentRef, FormSession, ItemState } from "../../engine/form/index.js";
import { Confirm } from "../components.js";
import { t } from "../i18n.js";
import { canvasToPng, resizePhoto, startRecording, type Recorder } from "../media.js";

export interface FieldContext {
  form: FormSession;
  /** Names of the items of each repeat (to build a block's paths). */
  blockItems: ReadonlyMap<string, readonly string[]>;
  set(path: string, value: unknown): void;
  attach(path: string, item: string, blob: Blob): Promise<void>;
  addInstance(path: string): void;
  removeInstance(path: string, index: number): void;
  /** Errors are shown once an item was left, or on every item after "Next"/"Finish". */
  showError(path: string): boolean;
  touch(path: string): void;
  /** Observation logs: whole numbers get − / + buttons (participants counted as they arrive). */
  counters?: boolean;
  /** Object URL of a stored attachment (photos shown, audio playable). */
  preview(sha256: string): Promise<string | null>;
}

export function domId(path: string): string {
  return `f-${path.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

function Label(props: { state: ItemState; htmlFor?: string; as?: "legend" }) {
  const { state } = props;
  const text = <span class={state.required ? "required" : ""}>{state.label}</span>;
  const hint = state.hint ? <span class="hint" id={`${domId(state.path)}-hint`}> {state.hint}</span> : null;
  if (props.as === "legend") {
    return (
      <legend>
        {text}
        {hint ? <><br />{hint}</> : null}
      </legend>
    );
  }
  return (
    <label for={props.htmlFor}>
      {text}
      {hint ? <><br />{hint}</> : null}
    </label>
  );
}

function ErrorText(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  if (!state.error || !ctx.showError(state.path)) return null;
  return (
    <p class="error" id={`${domId(state.path)}-error`}>
      {state.error.message}
    </p>
  );
}

function describedBy(state: ItemState, ctx: FieldContext): string | undefined {
  const ids = [];
  if (state.hint) ids.push(`${domId(state.path)}-hint`);
  if (state.error && ctx.showError(state.path)) ids.push(`${domId(state.path)}-error`);
  return ids.length ? ids.join(" ") : undefined;
}

function textValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return "";
}

/** `2026-03-15T10:30` from a datetime-local input, with the device's offset: `2026-03-15T10:30:00+01:00`. */
export function localDateTimeWithOffset(local: string): string {
  const date = new Date(local);
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const minutes = String(Math.abs(offset) % 60).padStart(2, "0");
  const withSeconds = local.length === 16 ? `${local}:00` : local;
  return `${withSeconds}${sign}${hours}:${minutes}`;
}

function InputField(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const id = domId(state.path);
  const common = {
    id,
    name: state.path,
    disabled: state.readOnly,
    required: state.required,
    "aria-invalid": state.error && ctx.showError(state.path) ? true : undefined,
    "aria-describedby": describedBy(state, ctx),
    onBlur: () => {
      ctx.touch(state.path);
    },
  };
  let input;
  switch (state.type) {
    case "long_text":
      input = (
        <textarea
          {...common}
          value={textValue(state.value)}
          onInput={(e) => {
            ctx.set(state.path, e.currentTarget.value);
          }}
        />
      );
      break;
    case "integer":
    case "decimal":
      input = (
        <input
          {...common}
          type="number"
          inputMode={state.type === "integer" ? "numeric" : "decimal"}
          step={state.type === "integer" ? "1" : "any"}
          value={textValue(state.value)}
          onInput={(e) => {
            const raw = e.currentTarget.value;
            ctx.set(state.path, raw === "" ? null : Number(raw));
          }}
        />
      );
      break;
    case "date":
      input = (
        <input
          {...common}
          type="date"
          value={textValue(state.value)}
          onInput={(e) => {
            ctx.set(state.path, e.currentTarget.value || null);
          }}
        />
      );
      break;
    case "time":
      input = (
        <input
          {...common}
          type="time"
          step="1"
          value={textValue(state.value)}
          onInput={(e) => {
            const raw = e.currentTarget.value;
            ctx.set(state.path, raw === "" ? null : raw.length === 5 ? `${raw}:00` : raw);
          }}
        />
      );
      break;
    case "datetime":
      input = (
        <input
          {...common}
          type="datetime-local"
          value={textValue(state.value).slice(0, 16)}
          onInput={(e) => {
            const raw = e.currentTarget.value;
            ctx.set(state.path, raw === "" ? null : localDateTimeWithOffset(raw));
          }}
        />
      );
      break;
    default:
      input = (
        <input
          {...common}
          type="text"
          value={textValue(state.value)}
          onInput={(e) => {
            ctx.set(state.path, e.currentTarget.value);
          }}
        />
      );
  }
  if (ctx.counters && state.type === "integer" && !state.readOnly) {
    const count = typeof state.value === "number" ? state.value : 0;
    input = (
      <div class="counter">
        <button type="button" aria-label={`− ${state.label}`} onClick={() => { ctx.set(state.path, Math.max(0, count - 1)); }}>
          −
        </button>
        {input}
        <button type="button" aria-label={`+ ${state.label}`} onClick={() => { ctx.set(state.path, count + 1); }}>
          +
        </button>
      </div>
    );
  }
  return (
    <div class={`item${state.error && ctx.showError(state.path) ? " invalid" : ""}`}>
      <Label state={state} htmlFor={id} />
      {input}
      <ErrorText state={state} ctx={ctx} />
    </div>
  );
}

function choiceValue(state: ItemState, raw: string): string | number {
  return state.type === "likert" && /^-?\d+$/.test(raw) ? Number(raw) : raw;
}

function SingleChoice(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const choices = state.type === "yes_no" && !state.choices?.length
    ? [
        { value: "yes", label: t("form.yes") },
        { value: "no", label: t("form.no") },
      ]
    : (state.choices ?? []);
  const current = typeof state.value === "string" || typeof state.value === "number" ? String(state.value) : "";
  const id = domId(state.path);
  if (choices.length > 8) {
    return (
      <div class={`item${state.error && ctx.showError(state.path) ? " invalid" : ""}`}>
        <Label state={state} htmlFor={id} />
        <select
          id={id}
          disabled={state.readOnly}
          aria-describedby={describedBy(state, ctx)}
          value={current}
          onChange={(e) => {
            const raw = e.currentTarget.value;
            ctx.set(state.path, raw === "" ? null : choiceValue(state, raw));
            ctx.touch(state.path);
          }}
        >
          <option value="">—</option>
          {choices.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
        <ErrorText state={state} ctx={ctx} />
      </div>
    );
  }
  return (
    <fieldset
      id={id}
      class={`item${state.error && ctx.showError(state.path) ? " invalid" : ""}`}
      aria-describedby={describedBy(state, ctx)}
    >
      <Label state={state} as="legend" />
      <div class={state.type === "likert" ? "row" : ""}>
        {choices.map((choice) => (
          <label class="choice" key={choice.value}>
            <input
              type="radio"
              name={state.path}
              value={choice.value}
              checked={current === choice.value}
              disabled={state.readOnly}
              onChange={() => {
                ctx.set(state.path, choiceValue(state, choice.value));
                ctx.touch(state.path);
              }}
            />
            {choice.label}
          </label>
        ))}
      </div>
      <ErrorText state={state} ctx={ctx} />
    </fieldset>
  );
}

function MultipleChoice(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const selected = Array.isArray(state.value) ? (state.value as unknown[]).map(String) : [];
  return (
    <fieldset
      id={domId(state.path)}
      class={`item${state.error && ctx.showError(state.path) ? " invalid" : ""}`}
      aria-describedby={describedBy(state, ctx)}
    >
      <Label state={state} as="legend" />
      {(state.choices ?? []).map((choice) => (
        <label class="choice" key={choice.value}>
          <input
            type="checkbox"
            name={state.path}
            value={choice.value}
            checked={selected.includes(choice.value)}
            disabled={state.readOnly}
            onChange={(e) => {
              const next = e.currentTarget.checked
                ? [...selected, choice.value]
                : selected.filter((value) => value !== choice.value);
              ctx.set(state.path, next);
              ctx.touch(state.path);
            }}
          />
          {choice.label}
        </label>
      ))}
      <ErrorText state={state} ctx={ctx} />
    </fieldset>
  );
}

function Ranking(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const choices = state.choices ?? [];
  const current = Array.isArray(state.value) ? (state.value as unknown[]).map(String) : [];
  const order = [...current.filter((v) => choices.some((c) => c.value === v))];
  for (const choice of choices) if (!order.includes(choice.value)) order.push(choice.value);
  const labelOf = (value: string) => choices.find((c) => c.value === value)?.label ?? value;
  const move = (index: number, delta: number) => {
    const next = [...order];
    const [moved] = next.splice(index, 1);
    if (moved === undefined) return;
    next.splice(index + delta, 0, moved);
    ctx.set(state.path, next);
    ctx.touch(state.path);
  };
  return (
    <fieldset id={domId(state.path)} class="item" aria-describedby={describedBy(state, ctx)}>
      <Label state={state} as="legend" />
      <ol>
        {order.map((value, index) => (
          <li key={value} class="row">
            <span>{labelOf(value)}</span>
            <button type="button" disabled={index === 0} onClick={() => { move(index, -1); }}>
              <span aria-hidden="true">↑</span>
              <span class="sr-only">{t("form.moveup")} : {labelOf(value)}</span>
            </button>
            <button type="button" disabled={index === order.length - 1} onClick={() => { move(index, 1); }}>
              <span aria-hidden="true">↓</span>
              <span class="sr-only">{t("form.movedown")} : {labelOf(value)}</span>
            </button>
          </li>
        ))}
      </ol>
      <ErrorText state={state} ctx={ctx} />
    </fieldset>
  );
}

function Matrix(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const rows = (state.children ?? []).map((path) => ctx.form.item(path)).filter((row) => row.visible);
  const choices = rows[0]?.choices ?? [];
  return (
    <fieldset class="item matrix" id={domId(state.path)}>
      <Label state={state} as="legend" />
      <table>
        <thead>
          <tr>
            <td />
            {choices.map((choice) => (
              <th scope="col" key={choice.value}>
                {choice.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.path}>
              <th scope="row" class={row.required ? "required" : ""}>
                {row.label}
                {row.error && ctx.showError(row.path) ? <p class="error">{row.error.message}</p> : null}
              </th>
              {choices.map((choice) => (
                <td key={choice.value}>
                  <input
                    type="radio"
                    name={row.path}
                    aria-label={`${row.label} : ${choice.label}`}
                    checked={row.value === choice.value}
                    style={{ width: "26px", height: "26px" }}
                    onChange={() => {
                      ctx.set(row.path, choice.value);
                      ctx.touch(row.path);
                    }}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </fieldset>
  );
}

function Geopoint(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const [error, setError] = useState<string | null>(null);
  const value = state.value as { lat?: number; lon?: number; accuracy?: number } | null;
  return (
    <div class="item">
      <Label state={state} />
      <div class="row">
        <button
          type="button"
          onClick={() => {
            navigator.geolocation.getCurrentPosition(
              (position) => {
                const { latitude, longitude, altitude, accuracy } = position.coords;
                ctx.set(state.path, {
                  lat: latitude,
                  lon: longitude,
                  ...(altitude === null ? {} : { alt: altitude }),
                  accuracy,
                });
                setError(null);
              },
              (failure) => {
                setError(failure.message);
              },
              { enableHighAccuracy: true, timeout: 30_000 },
            );
          }}
        >
          {t("form.geopoint")}
        </button>
        {value && typeof value.lat === "number" ? (
          <span>
            {value.lat.toFixed(5)}, {(value.lon ?? 0).toFixed(5)} (± {Math.round(value.accuracy ?? 0)} m)
          </span>
        ) : null}
      </div>
      {error ? <p class="error">{error}</p> : null}
      <ErrorText state={state} ctx={ctx} />
    </div>
  );
}

function usePreview(ctx: FieldContext, sha256: string | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let made: string | null = null;
    if (sha256) {
      void ctx.preview(sha256).then((u) => {
        made = u;
        setUrl(u);
      });
    } else setUrl(null);
    return () => {
      if (made) URL.revokeObjectURL(made);
    };
  }, [sha256]);
  return url;
}

function refOf(value: unknown): AttachmentRef | null {
  if (value && typeof value === "object" && "sha256" in value) return value as AttachmentRef;
  return null;
}

function Attachment(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const ref = refOf(state.value);
  const url = usePreview(ctx, ref?.sha256 ?? (typeof state.value === "string" ? state.value : null));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [recorder, setRecorder] = useState<Recorder | null>(null);
  const id = domId(state.path);
  const store = async (blob: Blob) => {
    setBusy(true);
    setError(null);
    try {
      await ctx.attach(state.path, state.name, blob);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  if (state.type === "signature") return <Signature state={state} ctx={ctx} url={url} store={store} />;
  const accept = state.type === "photo" ? "image/*" : state.type === "audio" ? "audio/*" : undefined;
  return (
    <div class="item">
      <Label state={state} htmlFor={id} />
      {state.type === "audio" ? (
        <div class="row">
          <button
            type="button"
            onClick={() => {
              if (recorder) {
                void recorder.stop().then((done) => {
                  setRecorder(null);
                  void store(done.blob);
                });
              } else {
                startRecording().then(setRecorder, (failure: unknown) => {
                  setError(failure instanceof Error ? failure.message : String(failure));
                });
              }
            }}
          >
            {recorder ? t("form.audio.stop") : t("form.audio.start")}
          </button>
        </div>
      ) : null}
      <input
        id={id}
        type="file"
        accept={accept}
        capture={state.type === "photo" ? "environment" : undefined}
        disabled={busy || state.readOnly}
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (!file) return;
          if (state.type === "photo") {
            void resizePhoto(file).then((photo) => store(photo.blob), (failure: unknown) => {
              setError(failure instanceof Error ? failure.message : String(failure));
            });
          } else void store(file);
        }}
      />
      {url && state.type === "photo" ? <img src={url} alt={state.label} style={{ maxWidth: "100%", marginTop: "8px" }} /> : null}
      {url && state.type === "audio" ? <audio controls src={url} /> : null}
      {error ? <p class="error">{error}</p> : null}
      <ErrorText state={state} ctx={ctx} />
    </div>
  );
}

function Signature(props: { state: ItemState; ctx: FieldContext; url: string | null; store: (blob: Blob) => Promise<void> }) {
  const { state, ctx } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const dirty = useRef(false);
  const point = (event: PointerEvent) => {
    const element = canvas.current;
    if (!element) return null;
    const box = element.getBoundingClientRect();
    return { x: ((event.clientX - box.left) * element.width) / box.width, y: ((event.clientY - box.top) * element.height) / box.height };
  };
  return (
    <div class="item">
      <Label state={state} />
      {props.url ? <img src={props.url} alt={state.label} style={{ maxWidth: "100%" }} /> : null}
      <canvas
        ref={canvas}
        class="signature"
        width={600}
        height={220}
        aria-label={state.label}
        onPointerDown={(event) => {
          const p = point(event);
          const context = canvas.current?.getContext("2d");
          if (!p || !context) return;
          drawing.current = true;
          context.lineWidth = 3;
          context.lineCap = "round";
          context.beginPath();
          context.moveTo(p.x, p.y);
        }}
        onPointerMove={(event) => {
          if (!drawing.current) return;
          const p = point(event);
          const context = canvas.current?.getContext("2d");
          if (!p || !context) return;
          context.lineTo(p.x, p.y);
          context.stroke();
          dirty.current = true;
        }}
        onPointerUp={() => {
          drawing.current = false;
          if (dirty.current && canvas.current) {
            dirty.current = false;
            void canvasToPng(canvas.current).then((png) => props.store(png.blob));
          }
        }}
      />
      <button
        type="button"
        onClick={() => {
          const element = canvas.current;
          element?.getContext("2d")?.clearRect(0, 0, element.width, element.height);
          ctx.set(state.path, null);
        }}
      >
        {t("form.signature.clear")}
      </button>
      <ErrorText state={state} ctx={ctx} />
    </div>
  );
}

function Consent(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const id = domId(state.path);
  return (
    <div class={`item${state.error && ctx.showError(state.path) ? " invalid" : ""}`}>
      <label class="choice" for={id}>
        <input
          id={id}
          type="checkbox"
          checked={state.value === "OK"}
          aria-describedby={describedBy(state, ctx)}
          onChange={(e) => {
            ctx.set(state.path, e.currentTarget.checked ? "OK" : null);
            ctx.touch(state.path);
          }}
        />
        <span class={state.required ? "required" : ""}>{state.label}</span>
      </label>
      <ErrorText state={state} ctx={ctx} />
    </div>
  );
}

function Repeat(props: { state: ItemState; ctx: FieldContext }) {
  const { state, ctx } = props;
  const [removing, setRemoving] = useState<number | null>(null);
  const names = ctx.blockItems.get(state.name) ?? [];
  return (
    <section class="item" aria-labelledby={`${domId(state.path)}-title`}>
      <h3 id={`${domId(state.path)}-title`}>{state.label}</h3>
      {state.hint ? <p class="hint">{state.hint}</p> : null}
      {(state.instances ?? []).map((instance) => (
        <fieldset class="card" key={instance.id}>
          <legend>{t("form.instance", { label: state.label, n: instance.index + 1 })}</legend>
          {names.map((name) => (
            <Item key={name} path={`${instance.path}.${name}`} ctx={ctx} />
          ))}
          {state.canRemove && state.expected == null ? (
            <button type="button" class="danger" onClick={() => { setRemoving(instance.index); }}>
              {t("form.remove")}
            </button>
          ) : null}
        </fieldset>
      ))}
      {state.canAdd && state.expected == null ? (
        <button type="button" onClick={() => { ctx.addInstance(state.path); }}>
          {t("form.add", { label: state.label })}
        </button>
      ) : null}
      {state.error && ctx.showError(state.path) ? <p class="error">{state.error.message}</p> : null}
      {removing !== null ? (
        <Confirm
          message={t("form.remove.confirm")}
          onConfirm={() => {
            ctx.removeInstance(state.path, removing);
            setRemoving(null);
          }}
          onCancel={() => { setRemoving(null); }}
        />
      ) : null}
    </section>
  );
}

export function Item(props: { path: string; ctx: FieldContext }) {
  const { ctx } = props;
  const state = ctx.form.item(props.path);
  if (!state.visible) return null;
  switch (state.kind) {
    case "group":
    case "theme":
      return (
        <fieldset class="item">
          <legend>{state.label}</legend>
          {state.hint ? <p class="hint">{state.hint}</p> : null}
          {(state.children ?? []).map((child) => (
            <Item key={child} path={child} ctx={ctx} />
          ))}
        </fieldset>
      );
    case "repeat":
      return <Repeat state={state} ctx={ctx} />;
    case "matrix":
      return <Matrix state={state} ctx={ctx} />;
    case "note":
      return (
        <div class="item note">
          <p>{state.label}</p>
          {state.hint ? <p class="hint">{state.hint}</p> : null}
        </div>
      );
    case "calculate":
      if (!state.label || state.label === state.name) return null;
      return (
        <div class="item">
          <span>{state.label} : </span>
          <output>{textValue(state.value)}</output>
        </div>
      );
    default:
      break;
  }
  switch (state.type) {
    case "single_choice":
    case "yes_no":
    case "likert":
      return <SingleChoice state={state} ctx={ctx} />;
    case "multiple_choice":
      return <MultipleChoice state={state} ctx={ctx} />;
    case "ranking":
      return <Ranking state={state} ctx={ctx} />;
    case "geopoint":
      return <Geopoint state={state} ctx={ctx} />;
    case "photo":
    case "audio":
    case "file":
    case "signature":
      return <Attachment state={state} ctx={ctx} />;
    case "consent":
      return <Consent state={state} ctx={ctx} />;
    default:
      return <InputField state={state} ctx={ctx} />;
  }
}

/** Names of the items of every repeat, from the compiled spec (themes' items included). */
export function repeatItems(spec: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (items: unknown): void => {
    if (!Array.isArray(items)) return;
    for (const item of items as Record<string, unknown>[]) {
      if (item["type"] === "repeat" && typeof item["name"] === "string") {
        out.set(item["name"], ((item["items"] as Record<string, unknown>[] | null) ?? []).map((c) => String(c["name"])));
      }
      walk(item["items"]);
    }
  };
  const root = spec as Record<string, unknown>;
  walk(root["items"]);
  for (const theme of (root["themes"] as Record<string, unknown>[] | null) ?? []) walk(theme["items"]);
  return out;
}

