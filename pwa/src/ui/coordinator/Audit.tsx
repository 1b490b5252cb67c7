// The audit log (admins): who did what, newest first, filtered by action and author, paged by id.
import { useState } from "preact/hooks";
import { getJson } from "./api.js";
import { LoadState, Pager, useLoad, when, type User } from "./common.js";
import { m } from "./messages.js";

interface Entry {
  id: number;
  at: string;
  actor_user_id: number | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
}

const PAGE = 50;

export function Audit() {
  const users = useLoad(() => getJson<User[]>("/api/v1/users"), []);
  const [draft, setDraft] = useState({ action: "", actor: "" });
  const [filters, setFilters] = useState({ action: "", actor: "" });
  // `before_id` of each page shown so far (null: the newest).
  const [pages, setPages] = useState<(number | null)[]>([null]);
  const before = pages[pages.length - 1] ?? null;
  const entries = useLoad(
    () =>
      getJson<Entry[]>("/api/v1/audit", {
        action: filters.action.trim(),
        actor_user_id: filters.actor,
        before_id: before,
        limit: PAGE,
      }),
    [filters.action, filters.actor, before],
  );
  const names = new Map((users.data ?? []).map((u) => [u.id, u.display_name || u.email]));
  const last = entries.data?.[entries.data.length - 1];
  return (
    <>
      <h2>{m("audit.title")}</h2>
      <form
        class="filters card"
        aria-label={m("queue.filters")}
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
          setPages([null]);
        }}
      >
        <div class="field">
          <label for="a-action">{m("audit.action")}</label>
          <input
            id="a-action"
            value={draft.action}
            aria-describedby="audit-action-hint"
            onInput={(e) => {
              setDraft({ ...draft, action: e.currentTarget.value });
            }}
          />
          <span class="hint" id="audit-action-hint">
            {m("audit.action.hint")}
          </span>
        </div>
        <div class="field">
          <label for="a-actor">{m("audit.actor")}</label>
          <select
            id="a-actor"
            value={draft.actor}
            onChange={(e) => {
              setDraft({ ...draft, actor: e.currentTarget.value });
            }}
          >
            <option value="">{m("queue.all")}</option>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={String(u.id)}>
                {u.display_name || u.email}
              </option>
            ))}
          </select>
        </div>
        <div class="row">
          <button type="submit" class="primary">
            {m("queue.apply")}
          </button>
        </div>
      </form>
      <LoadState loaded={entries} />
      {entries.data && entries.data.length === 0 ? <p>{m("audit.empty")}</p> : null}
      {entries.data && entries.data.length > 0 ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{m("audit.when")}</th>
                <th scope="col">{m("audit.actor")}</th>
                <th scope="col">{m("audit.action")}</th>
                <th scope="col">{m("audit.target")}</th>
                <th scope="col">{m("audit.details")}</th>
              </tr>
            </thead>
            <tbody>
              {entries.data.map((entry) => (
                <tr key={entry.id}>
                  <td>{when(entry.at)}</td>
                  <td>
                    {entry.actor_user_id === null
                      ? m("audit.system")
                      : (names.get(entry.actor_user_id) ?? `#${String(entry.actor_user_id)}`)}
                  </td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>{entry.target_type ? `${entry.target_type} ${entry.target_id ?? ""}` : "—"}</td>
                  <td class="details">{Object.keys(entry.details).length ? JSON.stringify(entry.details) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager cursors={pages} next={entries.data && entries.data.length === PAGE ? last?.id : null} onChange={setPages} />
    </>
  );
}
