import { useEffect, useState } from "preact/hooks";
import { estimateStorage, exportRecords, importRecords, UnsentRecordsError, type StorageEstimate } from "../../db/index.js";
import { dataVersion, lock, session, signOut, store, syncState } from "../app-state.js";
import { Banner, formatBytes } from "../components.js";
import { reason } from "../errors.js";
import { lang, setLang, t } from "../i18n.js";

function isIos(): boolean {
  return /iPhone|iPad|iPod/.test(navigator.userAgent);
}

function installed(): boolean {
  return window.matchMedia("(display-mode: standalone)").matches;
}

export function Settings() {
  const current = store.value;
  const [storage, setStorage] = useState<StorageEstimate | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [importPassphrase, setImportPassphrase] = useState("");
  const [message, setMessage] = useState<{ kind: "info" | "err"; text: string } | null>(null);
  useEffect(() => {
    void estimateStorage(navigator.storage).then(setStorage);
  }, [dataVersion.value]);
  if (!current) return null;
  const counts = syncState.value?.counts;
  const unsent = counts ? counts.waiting + counts.sending + counts.attention : 0;
  const doExport = async () => {
    try {
      const result = await exportRecords(current.db, current.vault, passphrase, { accountId: session.value?.accountId ?? null });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(result.blob);
      link.download = result.fileName;
      link.click();
      setTimeout(() => { URL.revokeObjectURL(link.href); }, 10_000);
      setMessage({ kind: "info", text: t("settings.exported", { n: result.recordCount }) });
    } catch (failure) {
      setMessage({ kind: "err", text: reason(failure) });
    }
  };
  const doImport = async (file: File) => {
    try {
      const result = await importRecords(current.db, current.vault, file, importPassphrase);
      setMessage({ kind: "info", text: t("settings.imported", { n: result.imported, skipped: result.skipped }) });
      dataVersion.value++;
    } catch (failure) {
      setMessage({ kind: "err", text: reason(failure) });
    }
  };
  const doSignOut = async () => {
    try {
      await signOut();
    } catch (failure) {
      setMessage({
        kind: "err",
        text: failure instanceof UnsentRecordsError ? t("settings.logout.refused", { n: failure.unsent }) : reason(failure),
      });
    }
  };
  return (
    <main id="main">
      <h2>{t("settings.title")}</h2>
      {message ? <Banner kind={message.kind}>{message.text}</Banner> : null}
      {isIos() && !installed() ? <Banner kind="warn">{t("settings.ios")}</Banner> : null}
      <section class="card">
        <h3>{t("lang.label")}</h3>
        <div class="row">
          <button type="button" aria-pressed={lang.value === "fr"} onClick={() => { setLang("fr"); }} lang="fr">
            Français
          </button>
          <button type="button" aria-pressed={lang.value === "en"} onClick={() => { setLang("en"); }} lang="en">
            English
          </button>
        </div>
      </section>
      <section class="card">
        <h3>{t("settings.storage.title")}</h3>
        <p>{t("sync.unsent", { n: unsent })}</p>
        {storage?.usageBytes != null && storage.quotaBytes != null ? (
          <p>{t("settings.storage", { used: formatBytes(storage.usageBytes), quota: formatBytes(storage.quotaBytes) })}</p>
        ) : null}
        {storage?.persisted != null ? <p>{storage.persisted ? t("settings.persist.yes") : t("settings.persist.no")}</p> : null}
      </section>
      <section class="card stack">
        <h3>{t("settings.export")}</h3>
        <p class="hint">{t("settings.export.hint")}</p>
        <label for="export-pass">{t("settings.export.passphrase")}</label>
        <input id="export-pass" type="password" autoComplete="new-password" value={passphrase} onInput={(e) => { setPassphrase(e.currentTarget.value); }} />
        <button type="button" disabled={passphrase.length < 8} onClick={() => void doExport()}>
          {t("settings.export")}
        </button>
        <h3>{t("settings.import")}</h3>
        <label for="import-pass">{t("settings.export.passphrase")}</label>
        <input id="import-pass" type="password" value={importPassphrase} onInput={(e) => { setImportPassphrase(e.currentTarget.value); }} />
        <label for="import-file">{t("settings.import.file")}</label>
        <input
          id="import-file"
          type="file"
          accept=".terrain,application/json"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file) void doImport(file);
          }}
        />
      </section>
      <p class="hint" data-testid="app-build">{t("settings.build", { build: __APP_BUILD__ })}</p>
      <section class="card row">
        <button type="button" onClick={lock}>
          {t("settings.lock")}
        </button>
        <button type="button" class="danger" onClick={() => void doSignOut()}>
          {t("settings.logout")}
        </button>
      </section>
    </main>
  );
}
