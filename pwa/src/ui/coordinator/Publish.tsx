// Publication: the draft's differences with the last version come first; a breaking change is refused by
// the server, which explains each one (the item named, what to do instead).
import { useState } from "preact/hooks";
import { ApiError, errorText, getJson, sendJson } from "./api.js";
import { m, type MessageKey } from "./messages.js";

interface Change {
  op: "added" | "removed" | "changed";
  target: string;
  name: string;
  fields: string[];
  breaking: boolean;
  reason: string | null;
}

interface DiffOut {
  from: number | "draft";
  to: number | "draft";
  breaking: boolean;
  is_empty: boolean;
  diff: { changes: Change[] };
}

interface Breaking {
  target: string;
  name: string;
  reason: string;
  message: string;
}

type State =
  | { step: "idle" }
  | { step: "loading" }
  | { step: "diff"; diff: DiffOut | null }
  | { step: "publishing"; diff: DiffOut | null }
  | { step: "published"; version: number; changed: boolean }
  | { step: "refused"; message: string; breaking: Breaking[]; diff: DiffOut | null }
  | { step: "failed"; message: string };

const TARGETS: Record<string, MessageKey> = {
  item: "diff.target.item",
  choice: "diff.target.choice",
  choice_list: "diff.target.choice_list",
  theme: "diff.target.theme",
  audience: "diff.target.audience",
  spec: "diff.target.spec",
};

function describe(change: Change): string {
  const target = m(TARGETS[change.target] ?? "diff.target.spec");
  const op = m(change.op === "added" ? "diff.added" : change.op === "removed" ? "diff.removed" : "diff.changed");
  const fields = change.fields.length ? m("diff.fields", { fields: change.fields.join(", ") }) : "";
  return `${op} : ${target} « ${change.name} »${fields}`;
}

export function DiffView(props: { diff: DiffOut | null }) {
  const { diff } = props;
  if (!diff) return <p>{m("publish.first")}</p>;
  if (diff.is_empty) return <p>{m("publish.same", { n: String(diff.from) })}</p>;
  return (
    <>
      <p>{m("publish.against", { n: String(diff.from) })}</p>
      <ul class="changes">
        {diff.diff.changes.map((change, i) => (
          <li key={i} class={change.breaking ? "err" : ""}>
            {describe(change)}
            {change.breaking ? <strong> — {m("diff.breaking")}</strong> : null}
          </li>
        ))}
      </ul>
      {diff.breaking ? <p class="error">{m("publish.will_refuse")}</p> : null}
    </>
  );
}

export function PublishPanel(props: { name: string; onPublished?: () => void }) {
  const [state, setState] = useState<State>({ step: "idle" });
  const path = `/api/v1/specs/${encodeURIComponent(props.name)}`;

  const prepare = async () => {
    setState({ step: "loading" });
    try {
      const diff = await getJson<DiffOut>(`${path}/diff`);
      setState({ step: "diff", diff });
    } catch (failure) {
      // No published version yet: nothing to compare with, this will be version 1.
      if (failure instanceof ApiError && failure.code === "spec.version_not_found") setState({ step: "diff", diff: null });
      else setState({ step: "failed", message: errorText(failure) });
    }
  };

  const publish = async (diff: DiffOut | null) => {
    setState({ step: "publishing", diff });
    try {
      const out = await sendJson<{ version: number; changed: boolean }>("POST", `${path}/publish`);
      setState({ step: "published", version: out.version, changed: out.changed });
      props.onPublished?.();
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === "spec.breaking_change") {
        const breaking = Array.isArray(failure.details["breaking"]) ? (failure.details["breaking"] as Breaking[]) : [];
        setState({ step: "refused", message: failure.message, breaking, diff });
      } else {
        setState({ step: "failed", message: errorText(failure) });
      }
    }
  };

  return (
    <section class="card" aria-labelledby="publish-title">
      <h3 id="publish-title">{m("publish.title")}</h3>
      {state.step === "idle" || state.step === "failed" ? (
        <button type="button" onClick={() => void prepare()}>
          {m("publish.prepare")}
        </button>
      ) : null}
      {state.step === "loading" ? <p aria-live="polite">{m("loading")}</p> : null}
      {state.step === "diff" || state.step === "publishing" || state.step === "refused" ? (
        <DiffView diff={state.diff} />
      ) : null}
      {state.step === "diff" || state.step === "publishing" ? (
        <button
          type="button"
          class="primary"
          disabled={state.step === "publishing"}
          onClick={() => void publish(state.diff)}
        >
          {m("publish.go")}
        </button>
      ) : null}
      <div aria-live="polite">
        {state.step === "published" ? (
          <p class="ok">
            {state.changed ? m("publish.done", { n: state.version }) : m("publish.unchanged", { n: state.version })}
          </p>
        ) : null}
      </div>
      {state.step === "refused" ? (
        <div class="banner err" role="alert">
          <p>{state.message}</p>
          <ul>
            {state.breaking.map((b, i) => (
              <li key={i}>{b.message}</li>
            ))}
          </ul>
          <p>{m("publish.refused.todo")}</p>
        </div>
      ) : null}
      {state.step === "failed" ? (
        <p class="error" role="alert">
          {state.message}
        </p>
      ) : null}
    </section>
  );
}
