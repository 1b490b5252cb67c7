import { useState } from "preact/hooks";
import { WrongPinError, PinDisabledError } from "../../db/index.js";
import { Banner } from "../components.js";
import { account, switchAccount, unlock } from "../app-state.js";
import { t } from "../i18n.js";
import { reason } from "../errors.js";
import { SignIn } from "./SignIn.js";

/** The PIN opens the local vault; a forgotten PIN is replaced through an online sign-in with the password
 * (the records stay encrypted on the device meanwhile, nothing is erased). */
export function Unlock() {
  const [pin, setPin] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [recovering, setRecovering] = useState(false);
  const [busy, setBusy] = useState(false);
  if (recovering) {
    return (
      <>
        <main id="recover-intro">
          <Banner>{t("unlock.forgot.intro")}</Banner>
        </main>
        <SignIn />
      </>
    );
  }
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await unlock(pin);
    } catch (failure) {
      if (failure instanceof WrongPinError) setError(t("unlock.wrong"));
      else if (failure instanceof PinDisabledError) {
        setError(reason(failure));
        setRecovering(true);
      } else setError(reason(failure));
      setPin("");
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main">
      <h2>{t("unlock.title")}</h2>
      <p>
        {t("unlock.intro")} {account.value ? <strong>{account.value.displayName || account.value.email}</strong> : null}
      </p>
      {error ? <Banner kind="err">{error}</Banner> : null}
      <form class="stack card" onSubmit={(e) => void submit(e)}>
        <div>
          <label for="unlock-pin">{t("pin.code")}</label>
          <input id="unlock-pin" type="password" inputMode="numeric" autoComplete="current-password" required value={pin} onInput={(e) => { setPin(e.currentTarget.value); }} />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {t("unlock.submit")}
        </button>
      </form>
      <div class="row">
        <button type="button" class="link" onClick={() => { setRecovering(true); }}>
          {t("unlock.forgot")}
        </button>
        <button type="button" class="link" onClick={switchAccount}>
          {t("unlock.other")}
        </button>
      </div>
    </main>
  );
}
