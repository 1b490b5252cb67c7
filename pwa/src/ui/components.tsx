import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { t } from "./i18n.js";

/** A confirmation for every destructive action: a modal <dialog> (focus trapped, Escape cancels). */
export function Confirm(props: { message: string; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="confirm-text" onCancel={props.onCancel}>
      <p id="confirm-text">{props.message}</p>
      <div class="row">
        <button type="button" class="danger" onClick={props.onConfirm}>
          {t("confirm.yes")}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t("confirm.no")}
        </button>
      </div>
    </dialog>
  );
}

export function Banner(props: { kind?: "info" | "warn" | "err"; children: ComponentChildren }) {
  const kind = props.kind ?? "info";
  return (
    <div class={`banner ${kind === "info" ? "" : kind}`} role={kind === "err" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function Badge(props: { status: "draft" | "waiting" | "sending" | "sent" | "attention" }) {
  return <span class={`badge ${props.status}`}>{t(`status.${props.status}`)}</span>;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} o`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} Ko`;
  return `${(bytes / 1024 / 1024).toFixed(1)} Mo`;
}
