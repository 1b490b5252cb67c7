/** Helpers to build an EvalContext: the device clock and the properties a choice filter sees. */

import { isValidTimeZone } from "./temporal.js";
import type { Clock, Value } from "./types.js";

/** The device's clock: the current instant in the device's own time zone (UTC if the runtime has none). */
export function deviceClock(now: Date = new Date()): Clock {
  const zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  return { instant: now.getTime(), timeZone: isValidTimeZone(zone) ? zone : "UTC" };
}

/** A choice of a compiled spec's `choice_lists`: its value and its filter properties. */
export interface Choice {
  readonly value: string;
  readonly filter?: { readonly [property: string]: Value } | null | undefined;
}

/**
 * What `choice_filter` sees of one choice: `choice.value` and `choice.<property>` for each filter property
 * (a property named `value` overrides the value, as on the server).
 */
export function choiceProperties(choice: Choice): ReadonlyMap<string, Value> {
  const props = new Map<string, Value>([["choice.value", choice.value]]);
  const filter = choice.filter;
  if (typeof filter === "object" && filter !== null && !Array.isArray(filter)) {
    for (const key of Object.keys(filter)) props.set(`choice.${key}`, filter[key] ?? null);
  }
  return props;
}
