// The YAML of a spec, uploaded from a file or typed: the server checks it as the user types (debounced,
// `POST /specs/validate`: nothing saved) and every issue is shown at its line and column. A valid text is
// previewed with the real engine; "Enregistrer le brouillon" saves it, then the diff and publication.
import { useEffect, useRef, useState } from "preact/hooks";
import { errorText, ApiError, sendJson } from "./api.js";
import type { SpecIssue, VersionSummary } from "./common.js";
import { m } from "./messages.js";
import { Preview } from "./Preview.js";
import { PublishPanel } from "./Publish.js";

interface DraftOut {
  name: string;
  created: boolean;
  draft: VersionSummary;
  warnings: SpecIssue[];
  compiled: Record<string, unknown>;
}

interface CheckOut {
  name: string;
  warnings: SpecIssue[];
  compiled: Record<string, unknown>;
}

type Check =
  | { state: "idle" }
  | { state: "checking" }
  | { state: "ok"; checked: CheckOut; source: string }
  | { state: "invalid"; issues: SpecIssue[]; message: string }
  | { state: "failed"; message: string }
  | { state: "mismatch"; found: string };

/** The text typed since this page was opened, per spec (the API keeps the draft, not its source). */
const typed = new Map<string, string>();
const DEBOUNCE_MS = 700;

/** The spec's top-level `name:` as typed (a rename must not create another spec's draft). */
export function topLevelName(source: string): string | null {
  const match = /^name:\s*["']?([^"'\s#]+)/m.exec(source);
  return match?.[1] ?? null;
}

export function SpecEditor(props: {
  /** The spec edited (its name may not change); none: a new spec. */
  name?: string;
  initial: string;
  onSaved?: (name: string) => void;
  onPublished?: () => void;
}) {
  const key = props.name ?? "";
  const [text, setText] = useState(() => typed.get(key) ?? props.initial);
  const [check, setCheck] = useState<Check>({ state: "idle" });
  const [filename, setFilename] = useState("spec.yaml");
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const sequence = useRef(0);
  const [saved, setSaved] = useState<DraftOut | null>(null);
  const [saving, setSaving] = useState<string | null>(null);

  const validate = async (source: string) => {
    const expected = props.name;
    const found = topLevelName(source);
    if (expected && found && found !== expected) {
      setCheck({ state: "mismatch", found });
      return;
    }
    const mine = ++sequence.current;
    setCheck({ state: "checking" });
    try {
      const checked = await sendJson<CheckOut>("POST", "/api/v1/specs/validate", { source, filename });
      if (mine !== sequence.current) return; // a newer text is being checked
      setCheck({ state: "ok", checked, source });
    } catch (failure) {
      if (mine !== sequence.current) return;
      if (failure instanceof ApiError && failure.code === "spec.invalid") {
        const issues = Array.isArray(failure.details["issues"]) ? (failure.details["issues"] as SpecIssue[]) : [];
        setCheck({ state: "invalid", issues, message: failure.message });
      } else {
        setCheck({ state: "failed", message: errorText(failure) });
      }
    }
  };

  useEffect(() => {
    // The text as it was opened (the last published source) is not re-sent: only what the user changes.
    if (!text.trim() || text === props.initial) {
      setCheck({ state: "idle" });
      return;
    }
    typed.set(key, text);
    setSaved(null); // the saved draft is no longer what is typed
    const timer = setTimeout(() => void validate(text), DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [text]);

  const issues = check.state === "invalid" ? check.issues : check.state === "ok" ? check.checked.warnings : [];

  const saveDraft = async (source: string) => {
    setSaving(null);
    try {
      const draft = await sendJson<DraftOut>("POST", "/api/v1/specs", { source, filename });
      setSaved(draft);
      props.onSaved?.(draft.name);
    } catch (failure) {
      setSaving(errorText(failure));
    }
  };
  const errorLines = new Set(issues.filter((i) => i.severity === "error" && i.line).map((i) => i.line));
  const warnLines = new Set(issues.filter((i) => i.severity !== "error" && i.line).map((i) => i.line));
  const lineCount = Math.max(1, text.split("\n").length);

  const goTo = (issue: SpecIssue) => {
    const target = area.current;
    if (!target || !issue.line) return;
    const lines = text.split("\n");
    let offset = 0;
    for (let i = 0; i < issue.line - 1 && i < lines.length; i++) offset += (lines[i]?.length ?? 0) + 1;
    offset += Math.max(0, (issue.col ?? 1) - 1);
    target.focus();
    target.setSelectionRange(offset, offset);
    const lineHeight = target.scrollHeight / lineCount;
    target.scrollTop = Math.max(0, (issue.line - 3) * lineHeight);
  };

  return (
    <div>
      <div class="row">
        <label>
          {m("editor.file")}{" "}
          <input
            type="file"
            accept=".yaml,.yml,text/yaml,application/yaml,text/plain"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (!file) return;
              setFilename(file.name);
              void file.text().then(setText);
            }}
          />
        </label>
      </div>
      <label for="spec-source">{m("editor.label")}</label>
      <p class="hint" id="spec-source-hint">
        {m("editor.hint")}
      </p>
      <div class="editor">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => (
            <div key={i} class={errorLines.has(i + 1) ? "err" : warnLines.has(i + 1) ? "warn" : ""}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          id="spec-source"
          ref={area}
          spellcheck={false}
          aria-describedby="spec-source-hint spec-check"
          aria-invalid={check.state === "invalid"}
          rows={22}
          value={text}
          onInput={(e) => {
            setText(e.currentTarget.value);
          }}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
      <div id="spec-check" aria-live="polite" data-testid="spec-check">
        {check.state === "checking" ? <p class="hint">{m("editor.checking")}</p> : null}
        {check.state === "ok" && !saved ? <p class="ok">{m("editor.valid", { name: check.checked.name })}</p> : null}
        {saved ? <p class="ok">{m(saved.created ? "editor.created" : "editor.saved", { name: saved.name })}</p> : null}
        {saving ? <p class="error">{saving}</p> : null}
        {check.state === "mismatch" ? (
          <p class="error">{m("editor.mismatch", { found: check.found, expected: props.name ?? "" })}</p>
        ) : null}
        {check.state === "failed" ? <p class="error">{check.message}</p> : null}
        {check.state === "invalid" ? <p class="error">{check.message}</p> : null}
      </div>
      {issues.length > 0 ? (
        <ul class="issues" aria-label={m("editor.issues")}>
          {issues.map((issue, i) => (
            <li key={i} class={issue.severity === "error" ? "err" : "warn"}>
              <button type="button" class="link" onClick={() => { goTo(issue); }}>
                {issue.line
                  ? m("editor.at", { line: issue.line, col: issue.col ?? 1 })
                  : m("editor.nowhere")}
              </button>{" "}
              <strong>{issue.severity === "error" ? m("editor.error") : m("editor.warning")}</strong>{" "}
              {issue.message}
              {issue.path ? <span class="hint"> ({issue.path})</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {check.state === "ok" ? (
        <>
          <Preview spec={check.checked.compiled} />
          {saved ? (
            <PublishPanel
              name={saved.name}
              onPublished={() => {
                typed.delete(key);
                props.onPublished?.();
              }}
            />
          ) : (
            <button type="button" class="primary" onClick={() => void saveDraft(check.source)}>
              {m("editor.save")}
            </button>
          )}
        </>
      ) : null}
    </div>
  );
}
