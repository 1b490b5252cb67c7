// The coordinator's calls to the server: online only, authenticated with this device's token (accepted as
// a Bearer token by every endpoint), answers in the chosen language. Errors carry the server's own message
// (French by default), which says what to do.
import { store } from "../app-state.js";
import { lang } from "../i18n.js";
import { m } from "./messages.js";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await store.value?.session.deviceToken();
  const headers = new Headers(init.headers);
  headers.set("Accept-Language", lang.value);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    // No HTTP answer at all: the network is down (or the server unreachable).
    throw new ApiError(m("err.network"), "network", 0, { cause: error instanceof Error ? error.message : String(error) });
  }
  if (response.ok) return response;
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const message = body.error?.message ?? m("err.http", { status: response.status });
  throw new ApiError(message, body.error?.code ?? `http.${String(response.status)}`, response.status, body.error?.details ?? {});
}

export async function getJson<T>(path: string, query?: Query): Promise<T> {
  const response = await send(withQuery(path, query));
  return (await response.json()) as T;
}

export async function sendJson<T>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  const response = await send(path, init);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function sendForm<T>(path: string, form: FormData): Promise<T> {
  const response = await send(path, { method: "POST", body: form });
  return (await response.json()) as T;
}

export async function getBlob(path: string): Promise<Blob> {
  const response = await send(path);
  return response.blob();
}

/** Saves a server file (an XLSForm) through a temporary link: the browser's own download. */
export async function download(path: string, filename: string): Promise<void> {
  const blob = await getBlob(path);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
  }, 10_000);
}

export function errorText(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}
