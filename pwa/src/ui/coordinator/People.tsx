// Sites, accounts and their devices. Creating sites and accounts, changing roles and revoking others'
// devices are the administrator's (the server enforces it; coordinators are told so instead of refused).
import { useState } from "preact/hooks";
import { session } from "../app-state.js";
import { Confirm } from "../components.js";
import { href } from "../router.js";
import { errorText, getJson, sendJson } from "./api.js";
import { LoadState, useLoad, when, type Site, type User } from "./common.js";
import { m, type MessageKey } from "./messages.js";

type Note = { ok: boolean; text: string } | null;

function Note(props: { note: Note }) {
  return (
    <div aria-live="polite">
      {props.note ? (
        <p class={props.note.ok ? "ok" : "error"} role={props.note.ok ? "status" : "alert"}>
          {props.note.text}
        </p>
      ) : null}
    </div>
  );
}

const isAdmin = () => session.value?.role === "admin";

export function Sites() {
  const loaded = useLoad(() => getJson<Site[]>("/api/v1/sites"), []);
  const [form, setForm] = useState({ code: "", name: "", description: "" });
  const [note, setNote] = useState<Note>(null);
  const [editing, setEditing] = useState<{ code: string; name: string; description: string } | null>(null);
  const save = async () => {
    if (!editing) return;
    try {
      const site = await sendJson<Site>("PATCH", `/api/v1/sites/${encodeURIComponent(editing.code)}`, {
        name: editing.name,
        description: editing.description,
      });
      setNote({ ok: true, text: m("sites.updated", { name: site.name }) });
      setEditing(null);
      loaded.reload();
    } catch (failure) {
      setNote({ ok: false, text: errorText(failure) });
    }
  };
  const create = async () => {
    try {
      const site = await sendJson<Site>("POST", "/api/v1/sites", form);
      setNote({ ok: true, text: m("sites.created", { name: site.name }) });
      setForm({ code: "", name: "", description: "" });
      loaded.reload();
    } catch (failure) {
      setNote({ ok: false, text: errorText(failure) });
    }
  };
  return (
    <>
      <h2>{m("sites.title")}</h2>
      <LoadState loaded={loaded} />
      {loaded.data ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{m("sites.code")}</th>
                <th scope="col">{m("sites.name")}</th>
                <th scope="col">{m("sites.description")}</th>
                <th scope="col">{m("sites.created_at")}</th>
                {isAdmin() ? <th scope="col">{m("sites.actions")}</th> : null}
              </tr>
            </thead>
            <tbody>
              {loaded.data.map((site) =>
                editing?.code === site.code ? (
                  <tr key={site.code}>
                    <td>
                      <code>{site.code}</code>
                    </td>
                    <td>
                      <input
                        aria-label={m("sites.name")}
                        value={editing.name}
                        onInput={(e) => {
                          setEditing({ ...editing, name: e.currentTarget.value });
                        }}
                      />
                    </td>
                    <td>
                      <input
                        aria-label={m("sites.description")}
                        value={editing.description}
                        onInput={(e) => {
                          setEditing({ ...editing, description: e.currentTarget.value });
                        }}
                      />
                    </td>
                    <td>{when(site.created_at)}</td>
                    <td class="row">
                      <button type="button" class="primary" onClick={() => void save()}>
                        {m("sites.save")}
                      </button>
                      <button
                        type="button"
                        onClick={() => {
                          setEditing(null);
                        }}
                      >
                        {m("sites.cancel")}
                      </button>
                    </td>
                  </tr>
                ) : (
                  <tr key={site.code}>
                    <td>
                      <code>{site.code}</code>
                    </td>
                    <td>{site.name}</td>
                    <td>{site.description || "—"}</td>
                    <td>{when(site.created_at)}</td>
                    {isAdmin() ? (
                      <td>
                        <button
                          type="button"
                          onClick={() => {
                            setEditing({ code: site.code, name: site.name, description: site.description });
                          }}
                        >
                          {m("sites.edit")}
                          <span class="sr-only"> : {site.name}</span>
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      ) : null}
      <p class="hint">{m("sites.noedit")}</p>
      {isAdmin() ? (
        <form
          class="card"
          aria-labelledby="site-new"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <h3 id="site-new">{m("sites.new")}</h3>
          <label for="site-code">{m("sites.code")}</label>
          <input
            id="site-code"
            required
            aria-describedby="site-code-hint"
            value={form.code}
            onInput={(e) => {
              setForm({ ...form, code: e.currentTarget.value });
            }}
          />
          <p class="hint" id="site-code-hint">
            {m("sites.code.hint")}
          </p>
          <label for="site-name">{m("sites.name")}</label>
          <input
            id="site-name"
            required
            value={form.name}
            onInput={(e) => {
              setForm({ ...form, name: e.currentTarget.value });
            }}
          />
          <label for="site-description">{m("sites.description")}</label>
          <input
            id="site-description"
            value={form.description}
            onInput={(e) => {
              setForm({ ...form, description: e.currentTarget.value });
            }}
          />
          <div class="row">
            <button type="submit" class="primary">
              {m("sites.create")}
            </button>
          </div>
        </form>
      ) : (
        <p class="hint">{m("admin.only")}</p>
      )}
      <Note note={note} />
    </>
  );
}

const ROLES: Record<User["role"], MessageKey> = {
  admin: "role.admin",
  coordinator: "role.coordinator",
  fieldworker: "role.fieldworker",
  viewer: "role.viewer",
};

function SiteChoice(props: { sites: Site[]; chosen: string[]; onChange: (codes: string[]) => void; legend: string }) {
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.sites.map((site) => (
        <label key={site.code} class="check">
          <input
            type="checkbox"
            checked={props.chosen.includes(site.code)}
            onChange={(e) => {
              const checked = e.currentTarget.checked;
              props.onChange(checked ? [...props.chosen, site.code] : props.chosen.filter((c) => c !== site.code));
            }}
          />{" "}
          {site.name}
        </label>
      ))}
    </fieldset>
  );
}

const EMPTY = { email: "", display_name: "", password: "", role: "fieldworker" as User["role"], sites: [] as string[] };

export function Users() {
  const users = useLoad(() => getJson<User[]>("/api/v1/users"), []);
  const sites = useLoad(() => getJson<Site[]>("/api/v1/sites"), []);
  const [form, setForm] = useState(EMPTY);
  const [note, setNote] = useState<Note>(null);
  const [deactivating, setDeactivating] = useState<User | null>(null);
  const admin = isAdmin();

  const create = async () => {
    try {
      const user = await sendJson<User>("POST", "/api/v1/users", form);
      setNote({ ok: true, text: m("users.created", { email: user.email }) });
      setForm(EMPTY);
      users.reload();
    } catch (failure) {
      setNote({ ok: false, text: errorText(failure) });
    }
  };
  const patch = async (user: User, change: Partial<Pick<User, "role" | "sites" | "active">>, done: string) => {
    try {
      await sendJson("PATCH", `/api/v1/users/${String(user.id)}`, change);
      setNote({ ok: true, text: done });
      users.reload();
    } catch (failure) {
      setNote({ ok: false, text: errorText(failure) });
    }
  };
  return (
    <>
      <h2>{m("users.title")}</h2>
      <Note note={note} />
      <LoadState loaded={users} />
      {users.data ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{m("users.name")}</th>
                <th scope="col">{m("users.role")}</th>
                <th scope="col">{m("users.sites")}</th>
                <th scope="col">{m("users.state")}</th>
                <th scope="col">{m("versions.col.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((user) => (
                <tr key={user.id}>
                  <td>
                    {user.display_name || "—"}
                    <br />
                    <span class="hint">{user.email}</span>
                  </td>
                  <td>
                    {admin ? (
                      <select
                        aria-label={m("users.role.of", { email: user.email })}
                        value={user.role}
                        onChange={(e) => {
                          const role = e.currentTarget.value as User["role"];
                          void patch(user, { role }, m("users.updated", { email: user.email }));
                        }}
                      >
                        {Object.entries(ROLES).map(([role, key]) => (
                          <option key={role} value={role}>
                            {m(key)}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m(ROLES[user.role])
                    )}
                  </td>
                  <td>{user.sites.join(", ") || "—"}</td>
                  <td>{user.active ? m("users.active") : m("users.inactive")}</td>
                  <td class="row">
                    <a href={href({ name: "coord", path: ["utilisateurs", String(user.id)] })}>
                      {m("users.devices.link", { email: user.email })}
                    </a>
                    {admin && user.active ? (
                      <button
                        type="button"
                        class="danger"
                        onClick={() => {
                          setDeactivating(user);
                        }}
                      >
                        {m("users.deactivate")}
                      </button>
                    ) : null}
                    {admin && !user.active ? (
                      <button
                        type="button"
                        onClick={() => void patch(user, { active: true }, m("users.updated", { email: user.email }))}
                      >
                        {m("users.reactivate")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {admin ? (
        <form
          class="card"
          aria-labelledby="user-new"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <h3 id="user-new">{m("users.new")}</h3>
          <label for="user-email">{m("users.email")}</label>
          <input
            id="user-email"
            type="email"
            required
            value={form.email}
            onInput={(e) => {
              setForm({ ...form, email: e.currentTarget.value });
            }}
          />
          <label for="user-name">{m("users.name")}</label>
          <input
            id="user-name"
            value={form.display_name}
            onInput={(e) => {
              setForm({ ...form, display_name: e.currentTarget.value });
            }}
          />
          <label for="user-password">{m("users.password")}</label>
          <input
            id="user-password"
            type="password"
            autocomplete="new-password"
            required
            aria-describedby="user-password-hint"
            value={form.password}
            onInput={(e) => {
              setForm({ ...form, password: e.currentTarget.value });
            }}
          />
          <p class="hint" id="user-password-hint">
            {m("users.password.hint")}
          </p>
          <label for="user-role">{m("users.role")}</label>
          <select
            id="user-role"
            value={form.role}
            onChange={(e) => {
              setForm({ ...form, role: e.currentTarget.value as User["role"] });
            }}
          >
            {Object.entries(ROLES).map(([role, key]) => (
              <option key={role} value={role}>
                {m(key)}
              </option>
            ))}
          </select>
          {sites.data ? (
            <SiteChoice
              legend={m("users.sites")}
              sites={sites.data}
              chosen={form.sites}
              onChange={(codes) => {
                setForm({ ...form, sites: codes });
              }}
            />
          ) : null}
          <div class="row">
            <button type="submit" class="primary">
              {m("users.create")}
            </button>
          </div>
        </form>
      ) : (
        <p class="hint">{m("admin.only")}</p>
      )}
      {deactivating ? (
        <Confirm
          message={m("users.deactivate.confirm", { email: deactivating.email })}
          onConfirm={() => {
            const user = deactivating;
            setDeactivating(null);
            void patch(user, { active: false }, m("users.deactivated", { email: user.email }));
          }}
          onCancel={() => {
            setDeactivating(null);
          }}
        />
      ) : null}
    </>
  );
}

interface Device {
  id: number;
  user_id: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function UserPage(props: { id: number }) {
  const users = useLoad(() => getJson<User[]>("/api/v1/users"), []);
  const sites = useLoad(() => getJson<Site[]>("/api/v1/sites"), []);
  const devices = useLoad(() => getJson<Device[]>("/api/v1/auth/device-tokens", { user_id: props.id }), [props.id]);
  const [revoking, setRevoking] = useState<Device | null>(null);
  const [chosen, setChosen] = useState<string[] | null>(null);
  const [note, setNote] = useState<Note>(null);
  const user = users.data?.find((u) => u.id === props.id);
  const admin = isAdmin();

  const revoke = async (device: Device) => {
    setRevoking(null);
    try {
      await sendJson("DELETE", `/api/v1/auth/device-tokens/${String(device.id)}`);
      setNote({ ok: true, text: m("devices.revoked", { name: device.name }) });
      devices.reload();
    } catch (failure) {
      setNote({ ok: false, text: errorText(failure) });
    }
  };
  const saveSites = async (codes: string[]) => {
    try {
      await sendJson("PATCH", `/api/v1/users/${String(props.id)}`, { sites: codes });
      setNote({ ok: true, text: m("users.updated", { email: user?.email ?? "" }) });
      users.reload();
    } catch (failure) {
      setNote({ ok: false, text: errorText(failure) });
    }
  };
  return (
    <>
      <p>
        <a href={href({ name: "coord", path: ["utilisateurs"] })}>{m("users.back")}</a>
      </p>
      <LoadState loaded={users} />
      {user ? (
        <>
          <h2>{user.display_name || user.email}</h2>
          <p class="hint">
            {user.email} · {m(ROLES[user.role])} · {user.active ? m("users.active") : m("users.inactive")}
          </p>
        </>
      ) : null}
      <Note note={note} />
      {user && admin && sites.data ? (
        <section class="card">
          <SiteChoice
            legend={m("users.sites")}
            sites={sites.data}
            chosen={chosen ?? user.sites}
            onChange={setChosen}
          />
          <button type="button" onClick={() => void saveSites(chosen ?? user.sites)}>
            {m("users.sites.save")}
          </button>
        </section>
      ) : null}
      <section class="card" aria-labelledby="devices-title">
        <h3 id="devices-title">{m("devices.title")}</h3>
        <LoadState loaded={devices} />
        {devices.data && devices.data.length === 0 ? <p>{m("devices.none")}</p> : null}
        {devices.data && devices.data.length > 0 ? (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">{m("devices.name")}</th>
                  <th scope="col">{m("devices.created")}</th>
                  <th scope="col">{m("devices.last")}</th>
                  <th scope="col">{m("versions.col.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {devices.data.map((device) => (
                  <tr key={device.id}>
                    <td>{device.name}</td>
                    <td>{when(device.created_at)}</td>
                    <td>{device.last_used_at ? when(device.last_used_at) : m("devices.never")}</td>
                    <td>
                      {device.revoked_at ? (
                        m("devices.revoked.at", { when: when(device.revoked_at) })
                      ) : (
                        <button
                          type="button"
                          class="danger"
                          onClick={() => {
                            setRevoking(device);
                          }}
                        >
                          {m("devices.revoke", { name: device.name })}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {revoking ? (
        <Confirm
          message={m("devices.revoke.confirm", { name: revoking.name })}
          onConfirm={() => void revoke(revoking)}
          onCancel={() => {
            setRevoking(null);
          }}
        />
      ) : null}
    </>
  );
}
