// The review queue: filtered, paged records; one record in full (labels in the chosen language,
// attachments, problems, history), a decision with a comment, a conflict resolved by choosing a revision.
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import { Confirm } from "../components.js";
import { lang, specText } from "../i18n.js";
import { href } from "../router.js";
import { errorText, getBlob, getJson, sendJson } from "./api.js";
import { ErrorLine, LoadState, Pager, useLoad, when, type Site, type SpecSummary, type User } from "./common.js";
import { m, type MessageKey } from "./messages.js";

export interface QueueFilters {
  spec?: string;
  version?: string;
  site?: string;
  author?: string;
  status?: string;
  review?: string;
  since?: string;
  until?: string;
}

/** The filters of the queue, kept while the coordinator opens records and comes back. */
export const queueFilters = signal<QueueFilters>({ review: "" });

interface Summary {
  uuid: string;
  spec: string;
  version: number;
  site: string | null;
  author: { id: number; name: string } | null;
  received_at: string;
  revision: number;
  status: string;
  review: string | null;
  review_comment: string | null;
  problem_count: number;
  missing_attachment_count: number;
}

const PAGE = 20;

const STATUS: Record<string, MessageKey> = {
  accepted: "rstatus.accepted",
  needs_review: "rstatus.needs_review",
  conflict: "rstatus.conflict",
};
const REVIEW: Record<string, MessageKey> = {
  reviewed: "review.reviewed",
  approved: "review.approved",
  rejected: "review.rejected",
};

function statusText(status: string): string {
  const key = STATUS[status];
  return key ? m(key) : status;
}
function reviewText(review: string | null): string {
  const key = review ? REVIEW[review] : undefined;
  return key ? m(key) : m("review.none");
}

export function Queue() {
  const [draft, setDraft] = useState<QueueFilters>(queueFilters.value);
  // Cursors of the pages before the current one (the API pages forward only).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const filters = queueFilters.value;
  const specs = useLoad(() => getJson<SpecSummary[]>("/api/v1/specs"), []);
  const sites = useLoad(() => getJson<Site[]>("/api/v1/sites"), []);
  const users = useLoad(() => getJson<User[]>("/api/v1/users"), []);
  const page = useLoad(
    () =>
      getJson<{ items: Summary[]; next_cursor: string | null }>("/api/v1/responses", {
        ...filters,
        cursor,
        limit: PAGE,
      }),
    [JSON.stringify(filters), cursor],
  );
  const set = (key: keyof QueueFilters, value: string) => {
    setDraft({ ...draft, [key]: value });
  };
  const field = (key: keyof QueueFilters) => ({
    value: draft[key] ?? "",
    onChange: (e: Event) => {
      set(key, (e.currentTarget as HTMLInputElement | HTMLSelectElement).value);
    },
  });
  return (
    <>
      <h2>{m("queue.title")}</h2>
      <form
        class="filters card"
        aria-label={m("queue.filters")}
        onSubmit={(e) => {
          e.preventDefault();
          queueFilters.value = { ...draft };
          setCursors([null]);
        }}
      >
        <div class="field">
          <label for="q-spec">{m("queue.spec")}</label>
          <select id="q-spec" {...field("spec")}>
            <option value="">{m("queue.all")}</option>
            {(specs.data ?? []).map((s) => (
              <option key={s.name} value={s.name}>
                {specText(s.title) || s.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="q-version">{m("queue.version")}</label>
          <input id="q-version" type="number" min={1} inputMode="numeric" {...field("version")} />
        </div>
        <div class="field">
          <label for="q-site">{m("queue.site")}</label>
          <select id="q-site" {...field("site")}>
            <option value="">{m("queue.all")}</option>
            {(sites.data ?? []).map((s) => (
              <option key={s.code} value={s.code}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="q-author">{m("queue.author")}</label>
          <select id="q-author" {...field("author")}>
            <option value="">{m("queue.all")}</option>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={String(u.id)}>
                {u.display_name || u.email}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="q-since">{m("queue.since")}</label>
          <input id="q-since" type="date" {...field("since")} />
        </div>
        <div class="field">
          <label for="q-until">{m("queue.until")}</label>
          <input id="q-until" type="date" {...field("until")} />
        </div>
        <div class="field">
          <label for="q-status">{m("queue.status")}</label>
          <select id="q-status" {...field("status")}>
            <option value="">{m("queue.all")}</option>
            {Object.keys(STATUS).map((s) => (
              <option key={s} value={s}>
                {statusText(s)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="q-review">{m("queue.review")}</label>
          <select id="q-review" {...field("review")}>
            <option value="">{m("queue.all")}</option>
            <option value="none">{m("review.none")}</option>
            {Object.keys(REVIEW).map((r) => (
              <option key={r} value={r}>
                {reviewText(r)}
              </option>
            ))}
          </select>
        </div>
        <div class="row">
          <button type="submit" class="primary">
            {m("queue.apply")}
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft({});
              queueFilters.value = {};
              setCursors([null]);
            }}
          >
            {m("queue.reset")}
          </button>
        </div>
      </form>
      <LoadState loaded={page} />
      {page.data && page.data.items.length === 0 ? <p>{m("queue.empty")}</p> : null}
      {page.data && page.data.items.length > 0 ? (
        <div class="scroll">
          <table>
            <caption class="sr-only">{m("queue.title")}</caption>
            <thead>
              <tr>
                <th scope="col">{m("queue.col.received")}</th>
                <th scope="col">{m("queue.col.spec")}</th>
                <th scope="col">{m("queue.site")}</th>
                <th scope="col">{m("queue.author")}</th>
                <th scope="col">{m("queue.status")}</th>
                <th scope="col">{m("queue.review")}</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((row) => (
                <tr key={row.uuid}>
                  <td>
                    <a href={href({ name: "coord", path: ["relecture", row.uuid] })}>{when(row.received_at)}</a>
                  </td>
                  <td>
                    {row.spec} v{row.version}
                  </td>
                  <td>{row.site ?? "—"}</td>
                  <td>{row.author?.name ?? "—"}</td>
                  <td>
                    {statusText(row.status)}
                    {row.problem_count > 0 ? ` · ${m("queue.problems", { n: row.problem_count })}` : ""}
                  </td>
                  <td>{reviewText(row.review)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager cursors={cursors} next={page.data?.next_cursor} onChange={setCursors} />
    </>
  );
}

interface DetailItem {
  name: string;
  type: string;
  label: string | null;
  answer?: unknown;
  choices?: { value: string; label: string }[] | null;
  items?: DetailItem[];
  instances?: DetailItem[][];
}

interface Revision {
  id: number;
  revision: number;
  origin: string;
  conflict: boolean;
  current: boolean;
  received_at: string;
  author: { id: number; name: string } | null;
  device: { id: number; name: string } | null;
  problem_count: number;
  answers?: Record<string, unknown>;
  differs?: string[];
}

interface Detail extends Summary {
  title: string;
  lang: string;
  items: DetailItem[];
  attachments: { sha256: string; item: string; media_type: string; size: number; status: string; url: string }[];
  problems: { code: string; item: string | null; instance: string | null; message: string }[];
  revisions: Revision[];
  reviewed_by: { id: number; name: string } | null;
}

function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function Answers(props: { items: DetailItem[] }) {
  return (
    <dl class="answers">
      {props.items.map((item) => (
        <div key={item.name} class="answer">
          <dt>{item.label ?? item.name}</dt>
          <dd>
            {item.instances ? (
              item.instances.map((block, i) => (
                <div key={i} class="card">
                  <p class="hint">{m("detail.block", { n: i + 1 })}</p>
                  <Answers items={block} />
                </div>
              ))
            ) : item.items ? (
              <Answers items={item.items} />
            ) : item.choices && item.choices.length > 0 ? (
              item.choices.map((c) => c.label).join(", ")
            ) : (
              show(item.answer)
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function Attachment(props: { url: string; media_type: string; item: string; status: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (props.status !== "complete") return;
    let url: string | null = null;
    getBlob(props.url).then(
      (blob) => {
        url = URL.createObjectURL(blob);
        setSrc(url);
      },
      (failure: unknown) => {
        setError(errorText(failure));
      },
    );
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [props.url, props.status]);
  if (props.status !== "complete") return <p>{m("detail.missing", { item: props.item })}</p>;
  if (error) return <ErrorLine error={error} />;
  if (!src) return <p>{m("loading")}</p>;
  if (props.media_type.startsWith("image/")) return <img src={src} alt={m("detail.photo", { item: props.item })} class="photo" />;
  if (props.media_type.startsWith("audio/"))
    return <audio controls src={src} aria-label={m("detail.audio", { item: props.item })} />;
  return (
    <a href={src} download={props.item}>
      {m("detail.download", { item: props.item })}
    </a>
  );
}

export function ResponseDetail(props: { uuid: string }) {
  const path = `/api/v1/responses/${encodeURIComponent(props.uuid)}`;
  const loaded = useLoad(() => getJson<Detail>(path, { lang: lang.value }), [props.uuid]);
  const [decision, setDecision] = useState("");
  const [comment, setComment] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [choosing, setChoosing] = useState<Revision | null>(null);
  const record = loaded.data;

  const decide = async () => {
    if (!decision) {
      setMessage({ ok: false, text: m("decision.choose") });
      return;
    }
    try {
      const body: { decision: string; comment?: string } = { decision };
      if (comment.trim()) body.comment = comment.trim();
      await sendJson("POST", `${path}/review`, body);
      setMessage({ ok: true, text: m("decision.saved", { decision: reviewText(decision) }) });
      loaded.reload();
    } catch (failure) {
      setMessage({ ok: false, text: errorText(failure) });
    }
  };
  const resolve = async (revision: Revision) => {
    setChoosing(null);
    try {
      const body: { revision_id: number; comment?: string } = { revision_id: revision.id };
      if (comment.trim()) body.comment = comment.trim();
      await sendJson("POST", `${path}/resolve`, body);
      setMessage({ ok: true, text: m("conflict.resolved", { n: revision.revision }) });
      loaded.reload();
    } catch (failure) {
      setMessage({ ok: false, text: errorText(failure) });
    }
  };

  const currentAnswers = new Map((record?.items ?? []).map((item) => [item.name, item.answer]));
  const conflicts = (record?.revisions ?? []).filter((r) => r.conflict);
  const current = (record?.revisions ?? []).find((r) => r.current);

  return (
    <>
      <p>
        <a href={href({ name: "coord", path: ["relecture"] })}>{m("detail.back")}</a>
      </p>
      <LoadState loaded={loaded} />
      {record ? (
        <>
          <h2>{record.title || record.spec}</h2>
          <p class="hint">
            {m("detail.meta", {
              spec: record.spec,
              version: record.version,
              site: record.site ?? "—",
              author: record.author?.name ?? "—",
              received: when(record.received_at),
            })}
          </p>
          <p>
            <strong>{statusText(record.status)}</strong> · {reviewText(record.review)}
            {record.review_comment ? ` — « ${record.review_comment} »` : ""}
          </p>
          {record.problems.length > 0 ? (
            <section class="card" aria-labelledby="problems-title">
              <h3 id="problems-title">{m("detail.problems", { n: record.problems.length })}</h3>
              <ul>
                {record.problems.map((p, i) => (
                  <li key={i}>
                    {p.item ? <code>{p.item}{p.instance ? ` (${p.instance})` : ""}</code> : null} {p.message}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          <section class="card" aria-labelledby="decision-title">
            <h3 id="decision-title">{m("decision.title")}</h3>
            <fieldset>
              <legend>{m("decision.legend")}</legend>
              {(["approved", "rejected", "reviewed"] as const).map((d) => (
                <label key={d} class="check">
                  <input
                    type="radio"
                    name="decision"
                    value={d}
                    checked={decision === d}
                    onChange={() => {
                      setDecision(d);
                    }}
                  />{" "}
                  {reviewText(d)}
                </label>
              ))}
            </fieldset>
            <label for="review-comment">{m("decision.comment")}</label>
            <textarea
              id="review-comment"
              maxLength={2000}
              rows={3}
              value={comment}
              onInput={(e) => {
                setComment(e.currentTarget.value);
              }}
            />
            <div class="row">
              <button type="button" class="primary" onClick={() => void decide()}>
                {m("decision.save")}
              </button>
            </div>
            <div aria-live="polite">
              {message ? (
                <p class={message.ok ? "ok" : "error"} role={message.ok ? "status" : "alert"}>
                  {message.text}
                </p>
              ) : null}
            </div>
          </section>
          {conflicts.length > 0 ? (
            <section class="card" aria-labelledby="conflict-title">
              <h3 id="conflict-title">{m("conflict.title")}</h3>
              <p>{m("conflict.intro")}</p>
              {conflicts.map((revision) => (
                <div key={revision.id} class="card">
                  <p>
                    {m("conflict.revision", {
                      n: revision.revision,
                      author: revision.author?.name ?? "—",
                      device: revision.device?.name ?? "—",
                      when: when(revision.received_at),
                    })}
                  </p>
                  <div class="scroll">
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">{m("conflict.field")}</th>
                          <th scope="col">{m("conflict.current")}</th>
                          <th scope="col">{m("conflict.theirs")}</th>
                        </tr>
                      </thead>
                      <tbody>
                        {(revision.differs ?? []).map((name) => (
                          <tr key={name}>
                            <th scope="row">{name}</th>
                            <td>{show(currentAnswers.get(name))}</td>
                            <td>{show(revision.answers?.[name])}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  <div class="row">
                    <button
                      type="button"
                      onClick={() => {
                        setChoosing(revision);
                      }}
                    >
                      {m("conflict.keep", { n: revision.revision })}
                    </button>
                    {current ? (
                      <button
                        type="button"
                        onClick={() => {
                          setChoosing(current);
                        }}
                      >
                        {m("conflict.keep.current", { n: current.revision })}
                      </button>
                    ) : null}
                  </div>
                </div>
              ))}
            </section>
          ) : null}
          <section class="card" aria-labelledby="answers-title">
            <h3 id="answers-title">{m("detail.answers")}</h3>
            <Answers items={record.items} />
          </section>
          {record.attachments.length > 0 ? (
            <section class="card" aria-labelledby="attachments-title">
              <h3 id="attachments-title">{m("detail.attachments")}</h3>
              {record.attachments.map((a) => (
                <figure key={a.sha256}>
                  <Attachment url={a.url} media_type={a.media_type} item={a.item} status={a.status} />
                  <figcaption class="hint">{a.item}</figcaption>
                </figure>
              ))}
            </section>
          ) : null}
          <section class="card" aria-labelledby="history-title">
            <h3 id="history-title">{m("detail.history")}</h3>
            <ol>
              {record.revisions.map((r) => (
                <li key={r.id}>
                  {m("detail.revision", {
                    n: r.revision,
                    when: when(r.received_at),
                    author: r.author?.name ?? "—",
                    device: r.device?.name ?? "—",
                  })}
                  {r.origin === "resolved" ? ` · ${m("detail.resolved")}` : ""}
                  {r.current ? ` · ${m("detail.current")}` : ""}
                  {r.conflict ? ` · ${m("detail.conflict")}` : ""}
                  {r.problem_count > 0 ? ` · ${m("queue.problems", { n: r.problem_count })}` : ""}
                </li>
              ))}
            </ol>
          </section>
          {choosing ? (
            <Confirm
              message={m("conflict.confirm", { n: choosing.revision })}
              onConfirm={() => void resolve(choosing)}
              onCancel={() => {
                setChoosing(null);
              }}
            />
          ) : null}
        </>
      ) : null}
    </>
  );
}
