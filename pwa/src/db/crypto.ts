/**
 * WebCrypto helpers for the storage layer: AES-GCM with a fresh 96-bit IV per write, PBKDF2-SHA256 key
 * derivation, SHA-256 hashing and base64. Works wherever `globalThis.crypto.subtle` exists (browsers,
 * workers, Node 20).
 */

/** An encrypted value as stored in IndexedDB: the IV and the AES-GCM ciphertext (with its tag). */
export interface Sealed {
  readonly iv: Uint8Array<ArrayBuffer>;
  readonly data: ArrayBuffer;
}

/** Real-use default: above OWASP's 2023 advice for PBKDF2-HMAC-SHA256 (600,000). */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;
/** Below this, derivation is refused unless the caller says it is a test (fast tests only). */
export const MIN_PBKDF2_ITERATIONS = 310_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function subtle(): SubtleCrypto {
  return globalThis.crypto.subtle;
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export function randomUUID(): string {
  return globalThis.crypto.randomUUID();
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

export function fromUtf8(bytes: ArrayBuffer | Uint8Array): string {
  return decoder.decode(bytes);
}

export function toBase64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  // In slices: String.fromCharCode(...huge) would overflow the call stack.
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Array.from(view, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(data: BufferSource): Promise<string> {
  return toHex(await subtle().digest("SHA-256", data));
}

/** Derives an AES-GCM key-encryption key from a secret (PIN, password, passphrase). */
export async function deriveKey(
  secret: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
  usages: KeyUsage[],
): Promise<CryptoKey> {
  const base = await subtle().importKey("raw", utf8(secret.normalize("NFC")), "PBKDF2", false, ["deriveKey"]);
  return subtle().deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    usages,
  );
}

export async function generateDataKey(): Promise<CryptoKey> {
  // Extractable only so that it can be wrapped; it is never exported in clear.
  return subtle().generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
}

export async function encryptBytes(
  key: CryptoKey,
  plain: BufferSource,
  aad?: string,
): Promise<Sealed> {
  const iv = randomBytes(12);
  const params: AesGcmParams = { name: "AES-GCM", iv };
  if (aad !== undefined) params.additionalData = utf8(aad);
  const data = await subtle().encrypt(params, key, plain);
  return { iv, data };
}

/** Throws (a DOMException "OperationError") when the key is wrong or the data was altered. */
export async function decryptBytes(key: CryptoKey, sealed: Sealed, aad?: string): Promise<ArrayBuffer> {
  const params: AesGcmParams = { name: "AES-GCM", iv: sealed.iv };
  if (aad !== undefined) params.additionalData = utf8(aad);
  return subtle().decrypt(params, key, sealed.data);
}

export async function encryptJson(key: CryptoKey, value: unknown, aad?: string): Promise<Sealed> {
  return encryptBytes(key, utf8(JSON.stringify(value)), aad);
}

export async function decryptJson(key: CryptoKey, sealed: Sealed, aad?: string): Promise<unknown> {
  return JSON.parse(fromUtf8(await decryptBytes(key, sealed, aad))) as unknown;
}

export async function wrapDataKey(dataKey: CryptoKey, kek: CryptoKey): Promise<Sealed> {
  const iv = randomBytes(12);
  const data = await subtle().wrapKey("raw", dataKey, kek, { name: "AES-GCM", iv });
  return { iv, data };
}

/** Unwraps a data key; throws when the key-encryption key is wrong. */
export async function unwrapDataKey(
  wrapped: Sealed,
  kek: CryptoKey,
  extractable: boolean,
): Promise<CryptoKey> {
  return subtle().unwrapKey(
    "raw",
    wrapped.data,
    kek,
    { name: "AES-GCM", iv: wrapped.iv },
    { name: "AES-GCM", length: 256 },
    extractable,
    ["encrypt", "decrypt"],
  );
}
