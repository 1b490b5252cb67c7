import { useState } from "preact/hooks";
import { Banner } from "../components.js";
import { signIn } from "../app-state.js";
import { t } from "../i18n.js";
import { reason } from "../errors.js";

const PIN = /^\d{4,8}$/;

/** First sign-in on a device (online): password, a name for the device, and the PIN chosen here. */
export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [deviceName, setDeviceName] = useState("");
  const [pin, setPin] = useState("");
  const [pin2, setPin2] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    if (!navigator.onLine) {
      setError(t("login.offline"));
      return;
    }
    if (!PIN.test(pin)) {
      setError(t("pin.format"));
      return;
    }
    if (pin !== pin2) {
      setError(t("pin.mismatch"));
      return;
    }
    setBusy(true);
    try {
      await signIn({ email, password, deviceName: deviceName.trim() || defaultDeviceName(), pin });
    } catch (failure) {
      setError(t("login.failed", { reason: reason(failure) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main">
      <h2>{t("login.title")}</h2>
      <p>{t("login.intro")}</p>
      {error ? <Banner kind="err">{error}</Banner> : null}
      <form class="stack card" onSubmit={(e) => void submit(e)}>
        <div>
          <label for="email">{t("login.email")}</label>
          <input id="email" type="email" autoComplete="username" required value={email} onInput={(e) => { setEmail(e.currentTarget.value); }} />
        </div>
        <div>
          <label for="password">{t("login.password")}</label>
          <input id="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => { setPassword(e.currentTarget.value); }} />
        </div>
        <div>
          <label for="device">
            {t("login.device")}
            <br />
            <span class="hint" id="device-hint">{t("login.device.hint")}</span>
          </label>
          <input id="device" aria-describedby="device-hint" value={deviceName} placeholder={defaultDeviceName()} onInput={(e) => { setDeviceName(e.currentTarget.value); }} />
        </div>
        <h3>{t("pin.create.title")}</h3>
        <p class="hint" id="pin-hint">{t("pin.create.intro")}</p>
        <div>
          <label for="pin">{t("pin.code")}</label>
          <input id="pin" type="password" inputMode="numeric" autoComplete="new-password" aria-describedby="pin-hint" required value={pin} onInput={(e) => { setPin(e.currentTarget.value); }} />
        </div>
        <div>
          <label for="pin2">{t("pin.confirm")}</label>
          <input id="pin2" type="password" inputMode="numeric" autoComplete="new-password" required value={pin2} onInput={(e) => { setPin2(e.currentTarget.value); }} />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t("app.loading") : t("login.submit")}
        </button>
      </form>
    </main>
  );
}

function defaultDeviceName(): string {
  const mobile = /Android|iPhone|iPad/i.test(navigator.userAgent);
  return mobile ? "Téléphone de terrain" : "Navigateur de terrain";
}
