/// <reference lib="webworker" />
// The service worker: the app shell is precached (Workbox), so the app opens with no network for weeks.
// Data never goes through here: records live in IndexedDB and the API is always asked live.
import { clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";

declare const self: ServiceWorkerGlobalScope;

precacheAndRoute(self.__WB_MANIFEST);
// The first install controls the open page at once (so it works offline from the first visit); a later
// version only activates when the user accepts the update (SKIP_WAITING below).
clientsClaim();
cleanupOutdatedCaches();
// Every navigation (deep links included) gets the cached shell; the API and its docs are never cached.
registerRoute(new NavigationRoute(createHandlerBoundToURL("/index.html"), { denylist: [/^\/api\//, /^\/docs/] }));

// A new version waits until the app says so: the app saves the open form, then asks the user.
self.addEventListener("message", (event: ExtendableMessageEvent) => {
  const data: unknown = event.data;
  if (typeof data === "object" && data !== null && (data as { type?: unknown }).type === "SKIP_WAITING") {
    void self.skipWaiting();
  }
});
