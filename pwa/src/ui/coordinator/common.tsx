// Pieces shared by the coordinator's screens: loading a server answer, showing its error, dates, types.
import { useCallback, useEffect, useState } from "preact/hooks";
import { lang } from "../i18n.js";
import { errorText } from "./api.js";
import { m } from "./messages.js";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` now and whenever `deps` change; `reload()` loads again (after a change). */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!live) return;
        setError(errorText(failure));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick, lang.value]);
  const reload = useCallback(() => {
    setTick((n) => n + 1);
  }, []);
  return { data, error, loading, reload };
}

export function ErrorLine(props: { error: string | null }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

export function LoadState<T>(props: { loaded: Loaded<T> }) {
  if (props.loaded.error) return <ErrorLine error={props.loaded.error} />;
  if (props.loaded.loading && props.loaded.data === null) return <p aria-live="polite">{m("loading")}</p>;
  return null;
}

export function when(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(lang.value === "en" ? "en-GB" : "fr-FR", { dateStyle: "short", timeStyle: "short" });
}

export interface Site {
  id: number;
  code: string;
  name: string;
  description: string;
  created_at: string;
}

export interface User {
  id: number;
  email: string;
  display_name: string;
  role: "admin" | "coordinator" | "fieldworker" | "viewer";
  active: boolean;
  language: "fr" | "en";
  sites: string[];
  created_at: string;
}

export interface VersionSummary {
  version: number | null;
  status: string;
  content_hash: string;
  created_at: string;
  published_at: string | null;
  closed_at: string | null;
  /** Records received on this version, on the caller's sites (coordinators and admins). */
  responses?: number | null;
}

export interface SpecSummary {
  name: string;
  kind: string;
  title: Record<string, string> | string;
  sites: string[];
  latest_version: number | null;
  published_versions: number[];
  has_draft: boolean | null;
}

export interface SpecDetail extends SpecSummary {
  versions: VersionSummary[];
  draft: VersionSummary | null;
  /** The draft's YAML (coordinators and admins): the editor resumes it. */
  draft_source?: string | null;
}

/** An issue of the spec compiler, as the API renders it (`spec.invalid` details, warnings). */
export interface SpecIssue {
  file: string | null;
  line: number | null;
  col: number | null;
  path: string | null;
  code: string | null;
  severity: string;
  message: string;
}

/** Previous / page n / next, for lists read page by page (a stack of cursors: the first page is `null`). */
export function Pager<C>(props: { cursors: C[]; next: C | null | undefined; onChange: (cursors: C[]) => void }) {
  const { cursors } = props;
  const next = props.next;
  return (
    <nav class="row" aria-label={m("pager.label")}>
      {cursors.length > 1 ? (
        <button
          type="button"
          onClick={() => {
            props.onChange(cursors.slice(0, -1));
          }}
        >
          {m("pager.prev")}
        </button>
      ) : null}
      <span class="hint">{m("pager.page", { n: cursors.length })}</span>
      {next != null ? (
        <button
          type="button"
          onClick={() => {
            props.onChange([...cursors, next]);
          }}
        >
          {m("pager.next")}
        </button>
      ) : null}
    </nav>
  );
}
