/**
 * The vault: one random AES-GCM data key encrypts every record's content and every file. The key is
 * stored only wrapped, twice: by a key derived from the PIN, and by a key derived from the account
 * password, so that a forgotten PIN never loses unsent records (an online login with the password
 * re-opens the vault and sets a new PIN). The data key lives in memory only while unlocked.
 */
import {
  DEFAULT_PBKDF2_ITERATIONS,
  type Sealed,
  decryptBytes,
  decryptJson,
  deriveKey,
  encryptBytes,
  encryptJson,
  generateDataKey,
  randomBytes,
  unwrapDataKey,
  wrapDataKey,
} from "./crypto.js";
import {
  CorruptDataError,
  PinDisabledError,
  VaultExistsError,
  VaultLockedError,
  VaultMissingError,
  WeakPinError,
  WrongPasswordError,
  WrongPinError,
} from "./errors.js";
import type { TerrainDB } from "./schema.js";

interface WrappedKey {
  salt: Uint8Array<ArrayBuffer>;
  iterations: number;
  wrapped: Sealed;
}

interface VaultMeta {
  format: 1;
  pin: WrappedKey | null;
  password: WrappedKey;
  failedPinAttempts: number;
}

const META_KEY = "vault";
export const DEFAULT_MAX_PIN_ATTEMPTS = 5;
const MIN_PIN_LENGTH = 4;

export interface VaultOptions {
  /** PBKDF2-SHA256 iterations for new wraps; default 600,000. Tests pass a small number. */
  iterations?: number;
  /** Wrong PINs in a row before the PIN is disabled (then the password is needed). Default 5. */
  maxPinAttempts?: number;
}

async function wrapWith(dataKey: CryptoKey, secret: string, iterations: number): Promise<WrappedKey> {
  const salt = randomBytes(16);
  const kek = await deriveKey(secret, salt, iterations, ["wrapKey", "unwrapKey"]);
  return { salt, iterations, wrapped: await wrapDataKey(dataKey, kek) };
}

/** Null when the secret is wrong (AES-GCM authentication fails). */
async function unwrapWith(wrapped: WrappedKey, secret: string, extractable: boolean): Promise<CryptoKey | null> {
  const kek = await deriveKey(secret, wrapped.salt, wrapped.iterations, ["wrapKey", "unwrapKey"]);
  try {
    return await unwrapDataKey(wrapped.wrapped, kek, extractable);
  } catch (error) {
    // OperationError is how WebCrypto says "authentication tag mismatch", i.e. wrong secret.
    if (error instanceof Error && error.name === "OperationError") return null;
    throw error;
  }
}

function checkPin(pin: string): void {
  if (pin.length < MIN_PIN_LENGTH) throw new WeakPinError();
}

export class Vault {
  #key: CryptoKey | null = null;
  readonly #iterations: number;
  readonly #maxPinAttempts: number;

  private constructor(
    readonly db: TerrainDB,
    options: VaultOptions,
  ) {
    this.#iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    this.#maxPinAttempts = options.maxPinAttempts ?? DEFAULT_MAX_PIN_ATTEMPTS;
  }

  static async exists(db: TerrainDB): Promise<boolean> {
    return (await db.meta.get(META_KEY)) !== undefined;
  }

  /** First sign-in on this device: a new data key, wrapped by the PIN and the password. Unlocked. */
  static async create(db: TerrainDB, secrets: { pin: string; password: string }, options: VaultOptions = {}): Promise<Vault> {
    checkPin(secrets.pin);
    if (await Vault.exists(db)) throw new VaultExistsError();
    const vault = new Vault(db, options);
    const dataKey = await generateDataKey();
    const meta: VaultMeta = {
      format: 1,
      pin: await wrapWith(dataKey, secrets.pin, vault.#iterations),
      password: await wrapWith(dataKey, secrets.password, vault.#iterations),
      failedPinAttempts: 0,
    };
    await db.transaction("rw", db.meta, async () => {
      if (await db.meta.get(META_KEY)) throw new VaultExistsError();
      await db.meta.put({ key: META_KEY, value: meta });
    });
    vault.#key = await vault.#nonExtractable(meta.password, secrets.password);
    return vault;
  }

  /** A locked handle on the existing vault. */
  static async open(db: TerrainDB, options: VaultOptions = {}): Promise<Vault> {
    if (!(await Vault.exists(db))) throw new VaultMissingError();
    return new Vault(db, options);
  }

  get isUnlocked(): boolean {
    return this.#key !== null;
  }

  /** Whether the PIN can still open the vault (false after too many wrong PINs). */
  async pinEnabled(): Promise<boolean> {
    return (await this.#meta()).pin !== null;
  }

  /**
   * Opens the vault with the PIN. Throws WrongPinError (with the attempts left) or PinDisabledError;
   * after `maxPinAttempts` wrong PINs in a row the PIN wrap is erased: only the password opens it then.
   */
  async unlockWithPin(pin: string): Promise<void> {
    const meta = await this.#meta();
    if (!meta.pin) throw new PinDisabledError();
    const key = await unwrapWith(meta.pin, pin, false);
    if (key) {
      if (meta.failedPinAttempts !== 0) await this.#update((m) => ({ ...m, failedPinAttempts: 0 }));
      this.#key = key;
      return;
    }
    let left = 0;
    await this.#update((m) => {
      const failed = m.failedPinAttempts + 1;
      left = Math.max(0, this.#maxPinAttempts - failed);
      return left === 0 ? { ...m, pin: null, failedPinAttempts: failed } : { ...m, failedPinAttempts: failed };
    });
    throw new WrongPinError(left);
  }

  /**
   * Forgotten (or disabled) PIN: the account password (checked online by a login first) opens the
   * vault and a new PIN is set. Throws WrongPasswordError when this password does not open it.
   */
  async recoverWithPassword(password: string, newPin: string): Promise<void> {
    checkPin(newPin);
    const meta = await this.#meta();
    const extractable = await unwrapWith(meta.password, password, true);
    if (!extractable) throw new WrongPasswordError();
    const pinWrap = await wrapWith(extractable, newPin, this.#iterations);
    await this.#update((m) => ({ ...m, pin: pinWrap, failedPinAttempts: 0 }));
    this.#key = await this.#nonExtractable(meta.password, password);
  }

  /** Sets a new PIN; needs the current one (or use recoverWithPassword). */
  async changePin(currentPin: string, newPin: string): Promise<void> {
    checkPin(newPin);
    const meta = await this.#meta();
    if (!meta.pin) throw new PinDisabledError();
    const extractable = await unwrapWith(meta.pin, currentPin, true);
    if (!extractable) throw new WrongPinError(this.#maxPinAttempts - meta.failedPinAttempts);
    const pinWrap = await wrapWith(extractable, newPin, this.#iterations);
    await this.#update((m) => ({ ...m, pin: pinWrap, failedPinAttempts: 0 }));
  }

  /**
   * After an online login with a changed password: re-wrap the key for the new password, so that it
   * (not the old one) recovers the vault. Needs the PIN, which proves the holder knows the vault.
   */
  async updatePassword(pin: string, newPassword: string): Promise<void> {
    const meta = await this.#meta();
    if (!meta.pin) throw new PinDisabledError();
    const extractable = await unwrapWith(meta.pin, pin, true);
    if (!extractable) throw new WrongPinError(this.#maxPinAttempts - meta.failedPinAttempts);
    const passwordWrap = await wrapWith(extractable, newPassword, this.#iterations);
    await this.#update((m) => ({ ...m, password: passwordWrap }));
  }

  /** Forgets the data key (the app goes to the PIN screen). */
  lock(): void {
    this.#key = null;
  }

  /** The data key; throws VaultLockedError when locked. For the stores of this package only. */
  key(): CryptoKey {
    if (!this.#key) throw new VaultLockedError();
    return this.#key;
  }

  async seal(value: unknown, aad: string): Promise<Sealed> {
    return encryptJson(this.key(), value, aad);
  }

  async open(sealed: Sealed, aad: string): Promise<unknown> {
    try {
      return await decryptJson(this.key(), sealed, aad);
    } catch (error) {
      if (error instanceof Error && error.name === "OperationError") throw new CorruptDataError(aad.split(":")[0] ?? "");
      throw error;
    }
  }

  async sealBytes(bytes: BufferSource, aad: string): Promise<Sealed> {
    return encryptBytes(this.key(), bytes, aad);
  }

  async openBytes(sealed: Sealed, aad: string): Promise<ArrayBuffer> {
    try {
      return await decryptBytes(this.key(), sealed, aad);
    } catch (error) {
      if (error instanceof Error && error.name === "OperationError") throw new CorruptDataError("fichier");
      throw error;
    }
  }

  async #nonExtractable(wrap: WrappedKey, secret: string): Promise<CryptoKey> {
    const key = await unwrapWith(wrap, secret, false);
    if (!key) throw new WrongPasswordError();
    return key;
  }

  async #meta(): Promise<VaultMeta> {
    const row = await this.db.meta.get(META_KEY);
    if (!row) throw new VaultMissingError();
    return row.value as VaultMeta;
  }

  async #update(change: (meta: VaultMeta) => VaultMeta): Promise<void> {
    await this.db.transaction("rw", this.db.meta, async () => {
      const row = await this.db.meta.get(META_KEY);
      if (!row) throw new VaultMissingError();
      await this.db.meta.put({ key: META_KEY, value: change(row.value as VaultMeta) });
    });
  }
}
