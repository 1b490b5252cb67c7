/** The shared form vectors (tests/vectors/forms.json), read from the repository. */

import { readFileSync } from "node:fs";

import type { Value } from "../../../src/engine/expressions/index.js";
import type { AttachmentRef } from "../../../src/engine/form/index.js";

export interface Case {
  readonly id: string;
  readonly spec: string;
  readonly audience?: string;
  /** The engine's language (fr by default): choice-label() calculations are computed in it. */
  readonly lang?: string;
  readonly answers: Record<string, Value>;
  readonly attachments?: readonly (AttachmentRef & { item: string })[];
  readonly problems_raw: readonly [string, string | null, string][];
  readonly problems: readonly [string, string | null, string][];
  readonly sent: Record<string, Value>;
}

export interface Vectors {
  readonly version: number;
  readonly today: string;
  readonly clock: { readonly instant: string; readonly timezone: string };
  readonly specs: Record<string, unknown>;
  readonly cases: readonly Case[];
}

export const VECTORS = JSON.parse(
  readFileSync(new URL("../../../../tests/vectors/forms.json", import.meta.url), "utf-8"),
) as Vectors;
export const CLOCK = { instant: Date.parse(VECTORS.clock.instant), timeZone: VECTORS.clock.timezone };

