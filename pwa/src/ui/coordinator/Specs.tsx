// Specs: the list, a new spec (upload or type its YAML), a spec's page (versions, closing, sites,
// XLSForm download, editing the next version).
import { useState } from "preact/hooks";
import { Confirm } from "../components.js";
import { specText } from "../i18n.js";
import { go, href } from "../router.js";
import { download, errorText, getJson, sendJson } from "./api.js";
import { LoadState, useLoad, when, type Site, type SpecDetail, type SpecSummary } from "./common.js";
import { SpecEditor } from "./Editor.js";
import { m, type MessageKey } from "./messages.js";
import { queueFilters } from "./Review.js";

const KINDS: Record<string, MessageKey> = {
  questionnaire: "kind.questionnaire",
  interview_guide: "kind.interview_guide",
  observation_log: "kind.observation_log",
};

function kindText(kind: string): string {
  const key = KINDS[kind];
  return key ? m(key) : kind;
}

function statusText(status: string): string {
  return status === "published" ? m("status.published") : status === "closed" ? m("status.closed") : m("status.draft");
}

export function SpecList() {
  const loaded = useLoad(() => getJson<SpecSummary[]>("/api/v1/specs"), []);
  return (
    <>
      <div class="row spread">
        <h2>{m("specs.title")}</h2>
        <a class="button primary" href={href({ name: "coord", path: ["specs", "nouvelle"] })}>
          {m("specs.new")}
        </a>
      </div>
      <LoadState loaded={loaded} />
      {loaded.data && loaded.data.length === 0 ? <p>{m("specs.none")}</p> : null}
      {loaded.data && loaded.data.length > 0 ? (
        <div class="scroll">
          <table>
            <caption class="sr-only">{m("specs.title")}</caption>
            <thead>
              <tr>
                <th scope="col">{m("specs.col.title")}</th>
                <th scope="col">{m("specs.col.kind")}</th>
                <th scope="col">{m("specs.col.status")}</th>
                <th scope="col">{m("specs.col.versions")}</th>
                <th scope="col">{m("specs.col.sites")}</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.map((spec) => (
                <tr key={spec.name}>
                  <td>
                    <a href={href({ name: "coord", path: ["specs", spec.name] })}>{specText(spec.title) || spec.name}</a>
                    <br />
                    <code class="hint">{spec.name}</code>
                  </td>
                  <td>{kindText(spec.kind)}</td>
                  <td>
                    {spec.published_versions.length > 0
                      ? m("specs.open", { n: spec.published_versions.join(", ") })
                      : m("specs.noopen")}
                    {spec.has_draft ? <span class="badge draft"> {m("status.draft")}</span> : null}
                  </td>
                  <td>{spec.latest_version ?? "—"}</td>
                  <td>{spec.sites.length ? spec.sites.join(", ") : m("specs.nosite")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

export function NewSpec() {
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <>
      <p>
        <a href={href({ name: "coord", path: ["specs"] })}>{m("specs.back")}</a>
      </p>
      <h2>{m("specs.new")}</h2>
      <p class="hint">{m("specs.new.intro")}</p>
      <SpecEditor initial="" onSaved={setSaved} />
      {saved ? (
        <p>
          <a href={href({ name: "coord", path: ["specs", saved] })}>{m("specs.open.page", { name: saved })}</a>
        </p>
      ) : null}
    </>
  );
}

interface VersionDetail {
  source_yaml: string | null;
}

export function SpecPage(props: { name: string }) {
  const base = `/api/v1/specs/${encodeURIComponent(props.name)}`;
  const loaded = useLoad(async () => {
    const detail = await getJson<SpecDetail>(base);
    // The draft in progress when there is one, else the latest version's source.
    const source =
      detail.draft_source ??
      (detail.latest_version
        ? ((await getJson<VersionDetail>(`${base}/versions/${String(detail.latest_version)}`)).source_yaml ?? "")
        : "");
    return { detail, source };
  }, [props.name]);
  const [closing, setClosing] = useState<number | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const spec = loaded.data?.detail;

  const close = async (version: number) => {
    setClosing(null);
    try {
      await sendJson("POST", `${base}/versions/${String(version)}/close`);
      setMessage({ ok: true, text: m("versions.closed", { n: version }) });
      loaded.reload();
    } catch (failure) {
      setMessage({ ok: false, text: errorText(failure) });
    }
  };
  const exportXls = async (version: number) => {
    try {
      await download(`${base}/versions/${String(version)}/xlsform`, `${props.name}-v${String(version)}.xlsx`);
    } catch (failure) {
      setMessage({ ok: false, text: errorText(failure) });
    }
  };

  return (
    <>
      <p>
        <a href={href({ name: "coord", path: ["specs"] })}>{m("specs.back")}</a>
      </p>
      <LoadState loaded={loaded} />
      {spec ? (
        <>
          <h2>{specText(spec.title) || spec.name}</h2>
          <p class="hint">
            <code>{spec.name}</code> · {kindText(spec.kind)}
          </p>
          <div aria-live="polite">
            {message ? (
              <p class={message.ok ? "ok" : "error"} role={message.ok ? "status" : "alert"}>
                {message.text}
              </p>
            ) : null}
          </div>
          <section class="card" aria-labelledby="versions-title">
            <h3 id="versions-title">{m("versions.title")}</h3>
            {spec.versions.length === 0 ? <p>{m("versions.none")}</p> : null}
            {spec.versions.length > 0 ? (
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{m("versions.col.n")}</th>
                      <th scope="col">{m("versions.col.status")}</th>
                      <th scope="col">{m("versions.col.published")}</th>
                      <th scope="col">{m("versions.col.actions")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {spec.versions.map((row) => {
                      const n = row.version ?? 0;
                      return (
                        <tr key={n}>
                          <td>{n}</td>
                          <td>
                            {statusText(row.status)}
                            {row.closed_at ? ` (${when(row.closed_at)})` : ""}
                          </td>
                          <td>{when(row.published_at)}</td>
                          <td class="row">
                            <button
                              type="button"
                              onClick={() => {
                                queueFilters.value = { spec: spec.name, version: String(n) };
                                go({ name: "coord", path: ["relecture"] });
                              }}
                            >
                              {m("versions.responses", { n })}
                              {row.responses != null ? ` (${String(row.responses)})` : ""}
                            </button>
                            {spec.kind !== "interview_guide" ? (
                              <button type="button" onClick={() => void exportXls(n)}>
                                {m("versions.xlsform", { n })}
                              </button>
                            ) : null}
                            {row.status === "published" ? (
                              <button
                                type="button"
                                class="danger"
                                onClick={() => {
                                  setClosing(n);
                                }}
                              >
                                {m("versions.close", { n })}
                              </button>
                            ) : null}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            ) : null}
            {spec.draft ? <p class="hint">{m("versions.draft", { when: when(spec.draft.created_at) })}</p> : null}
          </section>
          <SitesPanel name={spec.name} assigned={spec.sites} onSaved={loaded.reload} />
          <section class="card" aria-labelledby="edit-title">
            <h3 id="edit-title">{m("edit.title")}</h3>
            <p class="hint">{m("edit.intro")}</p>
            <SpecEditor key={spec.name} name={spec.name} initial={loaded.data?.source ?? ""} onPublished={loaded.reload} />
          </section>
          {closing !== null ? (
            <Confirm
              message={m("versions.close.confirm", { n: closing })}
              onConfirm={() => void close(closing)}
              onCancel={() => {
                setClosing(null);
              }}
            />
          ) : null}
        </>
      ) : null}
    </>
  );
}

function SitesPanel(props: { name: string; assigned: string[]; onSaved: () => void }) {
  const sites = useLoad(() => getJson<Site[]>("/api/v1/sites"), []);
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(props.assigned));
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const save = async () => {
    try {
      const out = await sendJson<{ sites: string[] }>("PUT", `/api/v1/specs/${encodeURIComponent(props.name)}/sites`, {
        sites: [...chosen],
      });
      setChosen(new Set(out.sites));
      setMessage({ ok: true, text: m("sites.assigned", { sites: out.sites.join(", ") || "—" }) });
      props.onSaved();
    } catch (failure) {
      setMessage({ ok: false, text: errorText(failure) });
    }
  };
  return (
    <section class="card" aria-labelledby="assign-title">
      <h3 id="assign-title">{m("assign.title")}</h3>
      <LoadState loaded={sites} />
      {sites.data ? (
        <fieldset>
          <legend>{m("assign.legend")}</legend>
          {sites.data.map((site) => (
            <label key={site.code} class="check">
              <input
                type="checkbox"
                checked={chosen.has(site.code)}
                onChange={(e) => {
                  const next = new Set(chosen);
                  if (e.currentTarget.checked) next.add(site.code);
                  else next.delete(site.code);
                  setChosen(next);
                }}
              />{" "}
              {site.name} <span class="hint">({site.code})</span>
            </label>
          ))}
        </fieldset>
      ) : null}
      <button type="button" onClick={() => void save()}>
        {m("assign.save")}
      </button>
      <div aria-live="polite">
        {message ? <p class={message.ok ? "ok" : "error"}>{message.text}</p> : null}
      </div>
    </section>
  );
}
