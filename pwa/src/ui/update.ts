// A new build of the app never interrupts a field worker: the new service worker waits, the banner asks,
// the open form is saved first, and only then the page reloads on the new version.
import { signal } from "@preact/signals";
import { Workbox } from "workbox-window";

export const updateReady = signal(false);
let workbox: Workbox | null = null;
const beforeUpdate = new Set<() => Promise<void>>();

/** Screens holding unsaved state register a flush here (the form's pending save). */
export function onBeforeUpdate(flush: () => Promise<void>): () => void {
  beforeUpdate.add(flush);
  return () => beforeUpdate.delete(flush);
}

export function registerServiceWorker(): void {
  if (!("serviceWorker" in navigator) || import.meta.env.DEV) return;
  workbox = new Workbox("/sw.js", { scope: "/" });
  workbox.addEventListener("waiting", () => {
    updateReady.value = true;
  });
  void workbox.register();
}

export async function applyUpdate(): Promise<void> {
  for (const flush of beforeUpdate) await flush();
  if (!workbox) return;
  workbox.addEventListener("controlling", () => {
    location.reload();
  });
  workbox.messageSkipWaiting();
}
