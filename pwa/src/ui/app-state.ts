// The app's state between screens: who is signed in on this device, the unlocked local store, and the
// sync scheduler that runs whatever screen is open (not only a form page).
import { signal } from "@preact/signals";
import {
  AccountDirectory,
  type AccountEntry,
  localStore,
  logout as deleteAccount,
  openTerrainDB,
  Vault,
  type LocalStore,
  type SessionInfo,
} from "../db/index.js";
import { SyncApi, SyncEngine, SyncScheduler, signIn as serverSignIn, type SyncState } from "../sync/index.js";
import { lang, setLang } from "./i18n.js";

export type Phase = "boot" | "signin" | "unlock" | "ready";

export const phase = signal<Phase>("boot");
export const account = signal<AccountEntry | null>(null);
export const store = signal<LocalStore | null>(null);
export const session = signal<SessionInfo | null>(null);
export const syncState = signal<SyncState | null>(null);
export const online = signal(typeof navigator === "undefined" ? true : navigator.onLine);
/** Bumped whenever records change (a save, a sync): lists re-read on it. */
export const dataVersion = signal(0);

const directory = new AccountDirectory();
let scheduler: SyncScheduler | null = null;
let unsubscribe: (() => void) | null = null;

export function api(): SyncApi {
  return new SyncApi({ baseUrl: location.origin, fetch: (input, init) => fetch(input, init), language: lang.value });
}

const onlineSignal = {
  isOnline: () => navigator.onLine,
  subscribe(listener: (value: boolean) => void) {
    const up = () => {
      listener(true);
    };
    const down = () => {
      listener(false);
    };
    window.addEventListener("online", up);
    window.addEventListener("offline", down);
    return () => {
      window.removeEventListener("online", up);
      window.removeEventListener("offline", down);
    };
  },
};

export async function boot(): Promise<void> {
  window.addEventListener("online", () => {
    online.value = true;
  });
  window.addEventListener("offline", () => {
    online.value = false;
  });
  const [latest] = await directory.list();
  if (!latest) {
    phase.value = "signin";
    return;
  }
  account.value = latest;
  const db = openTerrainDB(latest.dbName);
  if (!(await Vault.exists(db))) {
    db.close();
    phase.value = "signin";
    return;
  }
  store.value = localStore(db, await Vault.open(db));
  phase.value = "unlock";
}

async function ready(opened: LocalStore): Promise<void> {
  store.value = opened;
  session.value = await opened.session.get();
  if (session.value && !localStorage.getItem("terrain.lang")) setLang(session.value.language);
  startSync(opened);
  phase.value = "ready";
  dataVersion.value++;
}

function startSync(opened: LocalStore): void {
  stopSync();
  scheduler = new SyncScheduler({
    engine: new SyncEngine(opened, api()),
    counts: () => opened.records.counts(),
    online: onlineSignal,
  });
  unsubscribe = scheduler.subscribe((state) => {
    const finished = syncState.value?.phase === "running" && state.phase !== "running";
    syncState.value = state;
    if (finished) {
      void opened.session.get().then((info) => {
        session.value = info;
      });
      dataVersion.value++;
    }
  });
  scheduler.start();
  // Offline, no run happens: the counts (unsent records) are still shown at once.
  void scheduler.refreshCounts();
  // Keep unsent records from being evicted: the browser asks nothing for an installed app.
  void navigator.storage.persist();
}

function stopSync(): void {
  unsubscribe?.();
  unsubscribe = null;
  scheduler?.stop();
  scheduler = null;
}

export async function syncNow(): Promise<void> {
  if (scheduler) await scheduler.runNow();
}

/** After a record was finalised: counts refresh and the outbox leaves at once when online. */
export function outboxChanged(): void {
  dataVersion.value++;
  if (!scheduler) return;
  if (navigator.onLine) void scheduler.runNow();
  else void scheduler.refreshCounts();
}

export async function signIn(form: { email: string; password: string; deviceName: string; pin: string }): Promise<void> {
  const { store: opened } = await serverSignIn({
    api: api(),
    server: location.origin,
    email: form.email,
    password: form.password,
    deviceName: form.deviceName,
    pin: form.pin,
    directory,
  });
  account.value = (await directory.list())[0] ?? null;
  await ready(opened);
}

export async function unlock(pin: string): Promise<void> {
  const current = store.value;
  if (!current) throw new Error("no local store to unlock");
  await current.vault.unlockWithPin(pin);
  await ready(current);
}

export function lock(): void {
  stopSync();
  store.value?.vault.lock();
  phase.value = "unlock";
}

/** Another person on this device: their own database; the current one stays locked. */
export function switchAccount(): void {
  stopSync();
  store.value?.vault.lock();
  store.value?.db.close();
  store.value = null;
  session.value = null;
  phase.value = "signin";
}

/** Refused (UnsentRecordsError) while records are unsent and not exported since their last change. */
export async function signOut(): Promise<void> {
  const current = store.value;
  if (!current) return;
  stopSync();
  try {
    await deleteAccount(current.db, { directory });
  } catch (error) {
    startSync(current);
    throw error;
  }
  store.value = null;
  session.value = null;
  account.value = null;
  phase.value = "signin";
}
