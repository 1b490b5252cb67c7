// Client-side routes in the URL hash: the service worker serves one page, every screen is reachable
// offline and a reload keeps the user where they were.
import { signal } from "@preact/signals";

export type Route =
  | { name: "home" }
  | { name: "fill"; id: string }
  | { name: "interview"; id: string }
  | { name: "log"; spec: string; version: number }
  | { name: "outbox" }
  | { name: "settings" }
  /** The coordinator's screens (`#/coord/specs/…`), loaded on demand: field workers never download them. */
  | { name: "coord"; path: string[] };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [head, a, b] = parts;
  if (head === "fiche" && a) return { name: "fill", id: a };
  if (head === "entretien" && a) return { name: "interview", id: a };
  if (head === "journal" && a && b && /^\d+$/.test(b)) return { name: "log", spec: a, version: Number(b) };
  if (head === "envois") return { name: "outbox" };
  if (head === "reglages") return { name: "settings" };
  if (head === "coord") return { name: "coord", path: parts.slice(1) };
  return { name: "home" };
}

export function href(route: Route): string {
  switch (route.name) {
    case "home":
      return "#/";
    case "fill":
      return `#/fiche/${encodeURIComponent(route.id)}`;
    case "interview":
      return `#/entretien/${encodeURIComponent(route.id)}`;
    case "log":
      return `#/journal/${encodeURIComponent(route.spec)}/${route.version}`;
    case "outbox":
      return "#/envois";
    case "settings":
      return "#/reglages";
    case "coord":
      return `#/coord${route.path.map((part) => `/${encodeURIComponent(part)}`).join("")}`;
  }
}

export const route = signal<Route>(parseRoute(typeof location === "undefined" ? "" : location.hash));

export function startRouter(): void {
  window.addEventListener("hashchange", () => {
    route.value = parseRoute(location.hash);
  });
}

export function go(next: Route): void {
  location.hash = href(next);
  route.value = next;
}
