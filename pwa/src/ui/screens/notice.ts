import { signal } from "@preact/signals";

/** A one-time message for the next screen ("Fiche terminée…"). */
export const notice = signal<string | null>(null);
