// The coordinator's screens (issue #10): specs, XLSForm import, sites and people, review queue, audit.
import { session } from "../app-state.js";
import { t } from "../i18n.js";

export function Coordinator(props: { path: string[] }) {
  const role = session.value?.role;
  if (role !== "coordinator" && role !== "admin") {
    return (
      <main id="main">
        <p role="alert">{t("error.generic", { reason: "403" })}</p>
      </main>
    );
  }
  return (
    <main id="main">
      <h2>Coordination</h2>
      <p>{props.path.join("/")}</p>
    </main>
  );
}
