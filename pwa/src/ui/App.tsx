import { lazy, Suspense } from "preact/compat";
import { useEffect } from "preact/hooks";
import { online, phase, session, syncNow, syncState } from "./app-state.js";
import { lang, setLang, t } from "./i18n.js";
import { href, route } from "./router.js";
import { Fill } from "./screens/Fill.js";
import { Home } from "./screens/Home.js";
import { Interview } from "./screens/Interview.js";
import { Log } from "./screens/Log.js";
import { notice } from "./screens/notice.js";
import { Outbox } from "./screens/Outbox.js";
import { Settings } from "./screens/Settings.js";
import { SignIn } from "./screens/SignIn.js";
import { Unlock } from "./screens/Unlock.js";
import { applyUpdate, updateReady } from "./update.js";

// The coordinator's screens are their own chunk: the field shell stays small on a phone.
const Coordinator = lazy(() => import("./coordinator/index.js").then((module) => ({ default: module.Coordinator })));

export function isCoordinator(role: string | undefined): boolean {
  return role === "coordinator" || role === "admin";
}

function SyncBar() {
  const state = syncState.value;
  // Finished records not yet acknowledged by the server (drafts are not "to send" yet).
  const counts = state?.counts;
  const unsent = counts ? counts.waiting + counts.sending + counts.attention : 0;
  const running = state?.phase === "running";
  let status: string;
  if (!online.value) status = t("sync.offline");
  else if (state?.phase === "signed-out") status = t("sync.revoked");
  else if (state?.lastError) status = t("sync.error", { reason: state.lastError.message });
  else if (running) status = t("sync.running");
  else status = unsent > 0 ? t("sync.unsent", { n: unsent }) : t("sync.allsent");
  return (
    <div class="syncbar" role="status" aria-live="polite">
      <span data-testid="sync-status">
        {status}
      </span>
      <button type="button" class="primary" disabled={running} onClick={() => void syncNow()}>
        {t("sync.now")}
      </button>
    </div>
  );
}

function Header() {
  const current = route.value.name;
  const ready = phase.value === "ready";
  return (
    <header class="bar">
      <a class="skip" href="#main">
        {t("app.skip")}
      </a>
      <h1>{t("app.name")}</h1>
      {ready ? (
        <nav class="tabs" aria-label="Navigation">
          <a href={href({ name: "home" })} aria-current={current === "home" ? "page" : undefined}>
            {t("nav.home")}
          </a>
          <a href={href({ name: "outbox" })} aria-current={current === "outbox" ? "page" : undefined}>
            {t("nav.outbox")}
          </a>
          <a href={href({ name: "settings" })} aria-current={current === "settings" ? "page" : undefined}>
            {t("nav.settings")}
          </a>
          {isCoordinator(session.value?.role) ? (
            <a href={href({ name: "coord", path: [] })} aria-current={current === "coord" ? "page" : undefined}>
              {t("nav.coord")}
            </a>
          ) : null}
        </nav>
      ) : null}
      <button
        type="button"
        class="link"
        lang={lang.value === "fr" ? "en" : "fr"}
        onClick={() => {
          setLang(lang.value === "fr" ? "en" : "fr");
        }}
      >
        {t("lang.switch")}
      </button>
    </header>
  );
}

function Screen() {
  const current = route.value;
  switch (current.name) {
    case "fill":
      return <Fill key={current.id} id={current.id} />;
    case "interview":
      return <Interview key={current.id} id={current.id} />;
    case "log":
      return <Log key={`${current.spec}.${current.version}`} spec={current.spec} version={current.version} />;
    case "outbox":
      return <Outbox />;
    case "settings":
      return <Settings />;
    case "coord":
      return (
        <Suspense fallback={<main id="main"><p>{t("app.loading")}</p></main>}>
          <Coordinator path={current.path} />
        </Suspense>
      );
    case "home":
      return <Home />;
  }
}

export function App() {
  useEffect(() => {
    document.documentElement.lang = lang.value;
  }, [lang.value]);
  const message = notice.value;
  useEffect(() => {
    if (!message) return;
    const timer = setTimeout(() => {
      notice.value = null;
    }, 10_000);
    return () => {
      clearTimeout(timer);
    };
  }, [message]);
  return (
    <>
      <Header />
      {phase.value === "ready" ? <SyncBar /> : null}
      {updateReady.value ? (
        <div class="banner" role="alert">
          {t("update.ready")}{" "}
          <button type="button" class="primary" onClick={() => void applyUpdate()}>
            {t("update.apply")}
          </button>
        </div>
      ) : null}
      {message ? (
        // A toast, not a banner in the flow: nothing moves under the user's finger when it comes or goes.
        <div class="toast" role="status">
          {message}
        </div>
      ) : null}
      {phase.value === "boot" ? <main id="main"><p>{t("app.loading")}</p></main> : null}
      {phase.value === "signin" ? <SignIn /> : null}
      {phase.value === "unlock" ? <Unlock /> : null}
      {phase.value === "ready" ? <Screen /> : null}
    </>
  );
}
