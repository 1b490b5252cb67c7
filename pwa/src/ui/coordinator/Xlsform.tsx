// XLSForm import: the workbook becomes a draft; the report (grouped by sheet, with rows and columns) says
// what Terrain could not take over. A refused workbook shows the same report, to fix and re-upload.
import { useState } from "preact/hooks";
import { href } from "../router.js";
import { ApiError, errorText, sendForm } from "./api.js";
import { m } from "./messages.js";

interface ReportEntry {
  severity: string;
  sheet: string | null;
  row: number | null;
  column: string | null;
  code: string;
  message: string;
}

type State =
  | { step: "idle" }
  | { step: "sending" }
  | { step: "done"; name: string; created: boolean; report: ReportEntry[] }
  | { step: "refused"; message: string; report: ReportEntry[] }
  | { step: "exists"; message: string }
  | { step: "failed"; message: string };

export function Report(props: { report: ReportEntry[] }) {
  if (props.report.length === 0) return <p>{m("xls.clean")}</p>;
  const groups = new Map<string, ReportEntry[]>();
  for (const entry of props.report) {
    const key = entry.sheet ?? m("xls.nosheet");
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return (
    <div data-testid="xls-report">
      {[...groups.entries()].map(([sheet, entries]) => (
        <section key={sheet} class="card" aria-label={m("xls.sheet", { sheet })}>
          <h4>{m("xls.sheet", { sheet })}</h4>
          <ul class="issues">
            {entries.map((entry, i) => (
              <li key={i} class={entry.severity === "error" ? "err" : "warn"}>
                <strong>
                  {entry.severity === "error" ? m("editor.error") : entry.severity === "warning" ? m("editor.warning") : m("xls.info")}
                </strong>{" "}
                {entry.row ? m("xls.row", { row: entry.row }) : ""}
                {entry.column ? ` ${m("xls.column", { column: entry.column })}` : ""} — {entry.message}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

export function Xlsform() {
  const [file, setFile] = useState<File | null>(null);
  const [replace, setReplace] = useState(false);
  const [state, setState] = useState<State>({ step: "idle" });
  const send = async () => {
    if (!file) {
      setState({ step: "failed", message: m("xls.choose") });
      return;
    }
    setState({ step: "sending" });
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("replace", replace ? "true" : "false");
    try {
      const out = await sendForm<{ name: string; created: boolean; report: ReportEntry[] }>(
        "/api/v1/specs/import-xlsform",
        form,
      );
      setState({ step: "done", name: out.name, created: out.created, report: out.report });
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === "xlsform.invalid") {
        const report = Array.isArray(failure.details["report"]) ? (failure.details["report"] as ReportEntry[]) : [];
        setState({ step: "refused", message: failure.message, report });
      } else if (failure instanceof ApiError && failure.code === "spec.draft_exists") {
        setState({ step: "exists", message: failure.message });
      } else {
        setState({ step: "failed", message: errorText(failure) });
      }
    }
  };
  return (
    <>
      <h2>{m("xls.title")}</h2>
      <p class="hint">{m("xls.intro")}</p>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label for="xls-file">{m("xls.file")}</label>
        <input
          id="xls-file"
          type="file"
          accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          onChange={(e) => {
            setFile(e.currentTarget.files?.[0] ?? null);
          }}
        />
        <label class="check">
          <input
            type="checkbox"
            checked={replace}
            onChange={(e) => {
              setReplace(e.currentTarget.checked);
            }}
          />{" "}
          {m("xls.replace")}
        </label>
        <div class="row">
          <button type="submit" class="primary" disabled={state.step === "sending"}>
            {m("xls.send")}
          </button>
        </div>
      </form>
      <div aria-live="polite">
        {state.step === "sending" ? <p>{m("loading")}</p> : null}
        {state.step === "done" ? (
          <>
            <p class="ok" role="status">
              {m(state.created ? "xls.created" : "xls.updated", { name: state.name })}
            </p>
            <p>
              <a href={href({ name: "coord", path: ["specs", state.name] })}>{m("xls.open", { name: state.name })}</a>
            </p>
            <h3>{m("xls.report")}</h3>
            <Report report={state.report} />
          </>
        ) : null}
      </div>
      {state.step === "refused" ? (
        <>
          <p class="error" role="alert">
            {state.message}
          </p>
          <h3>{m("xls.report")}</h3>
          <Report report={state.report} />
        </>
      ) : null}
      {state.step === "exists" ? (
        <p class="error" role="alert">
          {state.message} {m("xls.exists.todo")}
        </p>
      ) : null}
      {state.step === "failed" ? (
        <p class="error" role="alert">
          {state.message}
        </p>
      ) : null}
    </>
  );
}
