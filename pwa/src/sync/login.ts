/**
 * Signing in on this device (online): password login with a device name, the account from /me, the
 * account's own database, and its vault created or re-opened with the password.
 */
import { type AccountDirectory, databaseNameFor } from "../db/accounts.js";
import { WrongPasswordError } from "../db/errors.js";
import { localStore, type LocalStore } from "../db/index.js";
import { openTerrainDB, type OpenOptions } from "../db/schema.js";
import { Vault, type VaultOptions } from "../db/vault.js";
import type { Me, SyncApi } from "./api.js";

export interface SignInOptions {
  api: SyncApi;
  server: string;
  email: string;
  password: string;
  deviceName: string;
  /**
   * First sign-in: the PIN to create. Later sign-ins (after a revoked token, a forgotten PIN): the new
   * PIN (the password re-opens the vault), or the current PIN when the password changed since.
   */
  pin: string;
  directory?: AccountDirectory;
  db?: OpenOptions;
  vault?: VaultOptions;
  now?: () => number;
}

export async function signIn(options: SignInOptions): Promise<{ store: LocalStore; me: Me }> {
  const { api, password, pin } = options;
  const now = options.now ?? Date.now;
  const login = await api.login(options.email, password, options.deviceName);
  const me = await api.me(login.accessToken);
  const dbName = await databaseNameFor(options.server, me.id);
  const db = openTerrainDB(dbName, options.db ?? {});
  let vault: Vault;
  if (await Vault.exists(db)) {
    vault = await Vault.open(db, options.vault ?? {});
    try {
      await vault.recoverWithPassword(password, pin);
    } catch (error) {
      if (!(error instanceof WrongPasswordError)) throw error;
      // The password changed on the server since: the PIN opens the vault, the new password is wrapped.
      await vault.unlockWithPin(pin);
      await vault.updatePassword(pin, password);
    }
  } else {
    vault = await Vault.create(db, { pin, password }, options.vault ?? {});
  }
  const store = localStore(db, vault, { now });
  await store.session.signIn(
    {
      server: options.server,
      accountId: me.id,
      email: me.email,
      displayName: me.display_name,
      role: me.role,
      language: me.language,
      sites: me.sites,
      deviceName: options.deviceName,
      deviceTokenId: login.deviceTokenId,
      signedInAt: now(),
    },
    login.deviceToken,
  );
  await options.directory?.remember({
    dbName,
    server: options.server,
    accountId: me.id,
    email: me.email,
    displayName: me.display_name,
    lastUsedAt: now(),
  });
  return { store, me };
}
