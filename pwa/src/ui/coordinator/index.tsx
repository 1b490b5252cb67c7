// The coordinator's screens (issue #10): specs, XLSForm import, sites and people, review queue, audit.
// Online only: everything is read from and written to the server, nothing is kept on the device.
import { online, session } from "../app-state.js";
import { Banner } from "../components.js";
import { href } from "../router.js";
import { Audit } from "./Audit.js";
import { m, type MessageKey } from "./messages.js";
import { Sites, UserPage, Users } from "./People.js";
import { Queue, ResponseDetail } from "./Review.js";
import { NewSpec, SpecList, SpecPage } from "./Specs.js";
import { Xlsform } from "./Xlsform.js";
import "./coord.css";

const SECTIONS: { path: string; label: MessageKey; admin?: boolean }[] = [
  { path: "specs", label: "nav.specs" },
  { path: "relecture", label: "nav.queue" },
  { path: "xlsform", label: "nav.xlsform" },
  { path: "sites", label: "nav.sites" },
  { path: "utilisateurs", label: "nav.users" },
  { path: "audit", label: "nav.audit", admin: true },
];

function Screen(props: { path: string[]; admin: boolean }) {
  const [section = "specs", a] = props.path;
  switch (section) {
    case "relecture":
      return a ? <ResponseDetail key={a} uuid={a} /> : <Queue />;
    case "xlsform":
      return <Xlsform />;
    case "sites":
      return <Sites />;
    case "utilisateurs":
      return a && /^\d+$/.test(a) ? <UserPage key={a} id={Number(a)} /> : <Users />;
    case "audit":
      return props.admin ? <Audit /> : <p role="alert">{m("admin.only")}</p>;
    default:
      if (a === "nouvelle") return <NewSpec />;
      return a ? <SpecPage key={a} name={a} /> : <SpecList />;
  }
}

export function Coordinator(props: { path: string[] }) {
  const role = session.value?.role;
  if (role !== "coordinator" && role !== "admin") {
    return (
      <main id="main" class="coord">
        <h2>{m("coord.title")}</h2>
        <p role="alert">{m("coord.forbidden")}</p>
      </main>
    );
  }
  const admin = role === "admin";
  const section = props.path[0] ?? "specs";
  return (
    <main id="main" class="coord">
      <nav class="subnav" aria-label={m("coord.title")}>
        {SECTIONS.filter((s) => !s.admin || admin).map((s) => (
          <a
            key={s.path}
            href={href({ name: "coord", path: [s.path] })}
            aria-current={section === s.path ? "page" : undefined}
          >
            {m(s.label)}
          </a>
        ))}
      </nav>
      {online.value ? (
        <Screen path={props.path} admin={admin} />
      ) : (
        <Banner kind="warn">{m("coord.offline")}</Banner>
      )}
    </main>
  );
}
