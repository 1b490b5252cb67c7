/**
 * The shape each answer must have: a port of `check_value` (backend/terrain/responses/values.py), with the
 * same problem codes, and the generic messages of the form engine (French first, English second).
 */

import { codePointLength } from "../expressions/values.js";
import { dateDays, datetimeMs } from "../expressions/temporal.js";
import type { Value } from "../expressions/index.js";
import type { Field } from "./model.js";

export const TEXT_MAX_CHARS = 4_000;
export const LONG_TEXT_MAX_CHARS = 200_000;
const MAX_SAFE_INT = Number.MAX_SAFE_INTEGER;
const SHA256_RX = /^[0-9a-f]{64}$/;
const TIME_RX = /^(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?$/;
const DATETIME_RX =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$/;
const GEO_KEYS = new Set(["lat", "lon", "alt", "accuracy"]);

/** A problem with one answer's shape: the server's code and the key of its message. */
export interface ShapeProblem {
  readonly code: "type" | "too_long" | "choice" | "consent";
  readonly message: MessageKey;
}

/** Generic messages (the server's wording for the same problems), French then English. */
export const MESSAGES = {
  text: ["Une réponse texte est attendue.", "A text answer is expected."],
  nul: ["Le texte contient un caractère nul (U+0000).", "The text contains a NUL character (U+0000)."],
  too_long: ["Le texte dépasse {max} caractères.", "The text is longer than {max} characters."],
  integer: ["Un nombre entier est attendu.", "A whole number is expected."],
  number: ["Un nombre est attendu.", "A number is expected."],
  range: ["Le nombre est trop grand (ou n'est pas un nombre fini).", "The number is too large (or not a finite number)."],
  choice_text: ["Un code de choix (texte) est attendu.", "A choice value (text) is expected."],
  likert: ["Un nombre entier de l'échelle est attendu.", "A whole number of the scale is expected."],
  list: ["Une liste de codes de choix est attendue.", "A list of choice values is expected."],
  date: ["Une date AAAA-MM-JJ est attendue.", "A date YYYY-MM-DD is expected."],
  time: ["Une heure HH:MM:SS est attendue.", "A time HH:MM:SS is expected."],
  datetime: [
    "Une date et heure ISO 8601 avec fuseau horaire est attendue.",
    "An ISO 8601 date and time with a time zone offset is expected.",
  ],
  geopoint: ["Une position {lat, lon, alt, accuracy} valide est attendue.", "A valid position {lat, lon, alt, accuracy} is expected."],
  binary: ["Une pièce jointe est attendue.", "An attachment is expected."],
  consent: ["Le consentement doit valoir « OK ».", 'Consent must be "OK".'],
  not_a_choice: ["Ce n'est pas un choix de la liste.", "This is not a choice of the list."],
  duplicate: ["Un même choix est donné plusieurs fois.", "A choice is given more than once."],
  too_many: ["Plus de choix que la liste n'en compte.", "More choices than the list has."],
  filtered: ["Ce choix n'est pas proposé avec les réponses données.", "This choice is not offered given the other answers."],
  required: ["Une réponse est obligatoire.", "An answer is required."],
  constraint: ["La réponse ne respecte pas la condition.", "The answer does not satisfy the condition."],
  repeat_min: ["Il faut au moins {min} bloc(s).", "At least {min} block(s) needed."],
  repeat_max: ["{max} blocs au plus.", "{max} blocks at most."],
  repeat_count: ["{expected} bloc(s) attendu(s).", "{expected} block(s) expected."],
  attachment_missing_ref: ["La pièce jointe n'est pas disponible sur l'appareil.", "The attachment is not on the device."],
} as const satisfies Record<string, readonly [string, string]>;

export type MessageKey = keyof typeof MESSAGES;

/** A generic message in `lang` (French unless `en`), with `{param}` filled. */
export function message(key: MessageKey, lang: string, params: Readonly<Record<string, string | number>> = {}): string {
  const [fr, en] = MESSAGES[key];
  const template = lang === "en" ? en : fr;
  return template.replace(/\{(min|max|expected)\}/g, (m, p: string) => {
    const v = params[p];
    return v === undefined ? m : String(v);
  });
}

function finiteNumber(v: Value): number | null {
  if (typeof v !== "number" || !Number.isFinite(v)) return null;
  return Number.isInteger(v) && Math.abs(v) > MAX_SAFE_INT ? null : v;
}

export function isDatetime(v: Value): boolean {
  return typeof v === "string" && v.length <= 40 && DATETIME_RX.test(v) && datetimeMs(v) !== null;
}

export function isDate(v: Value): boolean {
  return typeof v === "string" && v.length === 10 && dateDays(v) !== null;
}

export function isSha256(v: Value): v is string {
  return typeof v === "string" && SHA256_RX.test(v);
}

function isGeopoint(v: Value): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const obj = v as Readonly<Record<string, Value>>;
  if (!Object.keys(obj).every((k) => GEO_KEYS.has(k))) return false;
  const lat = finiteNumber(obj.lat ?? null);
  const lon = finiteNumber(obj.lon ?? null);
  if (lat === null || lon === null || lat < -90 || lat > 90 || lon < -180 || lon > 180) return false;
  const alt = obj.alt ?? null;
  if (alt !== null && finiteNumber(alt) === null) return false;
  const acc = obj.accuracy ?? null;
  if (acc !== null) {
    const a = finiteNumber(acc);
    if (a === null || a < 0) return false;
  }
  return true;
}

const p = (code: ShapeProblem["code"], msg: MessageKey): ShapeProblem => ({ code, message: msg });

/** The problem with a non-empty answer's shape, or null when the server accepts it. */
export function checkValue(f: Field, v: Value): ShapeProblem | null {
  switch (f.kind) {
    case "single_choice":
      if (typeof v !== "string") return p("type", "choice_text");
      return f.choiceSet?.has(v) === true ? null : p("choice", "not_a_choice");
    case "text":
    case "long_text":
      if (typeof v !== "string") return p("type", "text");
      if (v.length > TEXT_MAX_CHARS) {
        const n = codePointLength(v);
        if (f.kind === "text" && n > TEXT_MAX_CHARS) return p("too_long", "too_long");
        if (n > LONG_TEXT_MAX_CHARS) return p("too_long", "too_long");
      }
      return v.includes("\u0000") ? p("type", "nul") : null;
    case "integer":
    case "likert": {
      const bad = f.kind === "integer" ? "integer" : "likert";
      if (typeof v !== "number" || !Number.isFinite(v) || !Number.isInteger(v)) return p("type", bad);
      if (Math.abs(v) > MAX_SAFE_INT) return p("type", "range");
      if (f.kind === "likert" && f.choiceSet?.has(String(v)) !== true) return p("choice", "not_a_choice");
      return null;
    }
    case "decimal":
      if (typeof v !== "number") return p("type", "number");
      return finiteNumber(v) === null ? p("type", "range") : null;
    case "multiple_choice":
    case "ranking": {
      if (!Array.isArray(v)) return p("type", "list");
      const choices = f.choiceSet ?? new Set<string>();
      if (v.length > choices.size) return p("choice", "too_many");
      const seen = new Set<string>();
      for (const x of v as readonly Value[]) {
        if (typeof x !== "string") return p("type", "list");
        if (!choices.has(x)) return p("choice", "not_a_choice");
        if (seen.has(x)) return p("choice", "duplicate");
        seen.add(x);
      }
      return null;
    }
    case "date":
      return isDate(v) ? null : p("type", "date");
    case "time":
      return typeof v === "string" && v.length <= 18 && TIME_RX.test(v) ? null : p("type", "time");
    case "datetime":
      return isDatetime(v) ? null : p("type", "datetime");
    case "geopoint":
      return isGeopoint(v) ? null : p("type", "geopoint");
    case "binary":
      return isSha256(v) ? null : p("type", "binary");
    case "consent":
      if (v === "OK") return null;
      return typeof v === "string" ? p("consent", "consent") : p("type", "text");
    case "calculate":
      return null;
  }
}
