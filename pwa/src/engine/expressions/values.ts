/**
 * Runtime values and conversions (XPath 1.0 rules, docs/expressions.md "Values"), as the Python evaluator
 * (backend/terrain/expressions/values.py) applies them.
 */

import {
  DAY_MS,
  type TemporalKind,
  dateDays,
  datetimeMs,
  daysToDate,
  msToDatetime,
  timeMs,
} from "./temporal.js";
import type { Value } from "./types.js";

/**
 * Python's whitespace (`str.isspace()`, `\s` of `re` on text), which `number()` strips and `selected()` splits
 * on. JavaScript's `\s` differs (it has U+FEFF, lacks U+001C-U+001F and U+0085).
 */
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const NUMBER_RX = new RegExp(`^[${PY_SPACE}]*(-?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+))[${PY_SPACE}]*$`);
const SPACES_RX = new RegExp(`[${PY_SPACE}]+`);

/** Read an own property of a JSON object (never the prototype's). */
export function own(obj: { readonly [key: string]: Value | undefined }, key: string): Value {
  return Object.hasOwn(obj, key) ? (obj[key] ?? null) : null;
}

export function isEmpty(v: Value | undefined): boolean {
  return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
}

function isObject(v: Value): v is { readonly [key: string]: Value } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** XPath boolean(): empty, 0 and NaN are false; `'false'` is true. */
export function toBoolean(v: Value | undefined): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  if (typeof v === "string" || Array.isArray(v)) return v.length > 0;
  // A geopoint object: Python tests the length of the dict.
  return Object.keys(v).length > 0;
}

/** Python's truthiness, for `v.get(k) or 0` on geopoint parts. */
function pyTruthy(v: Value): boolean {
  if (isObject(v)) return Object.keys(v).length > 0;
  return toBoolean(v);
}

/** Decimal digits of a finite number, never with an exponent: `3`, `0.1`, `0.0000001`, `1e21` as 22 digits. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return "";
  if (Number.isInteger(x)) return BigInt(x).toString(); // all the digits; -0 is "0"
  // The shortest round-trip digits (as Python's repr), written out without an exponent.
  const text = String(x);
  const e = text.indexOf("e");
  if (e < 0) return text;
  const negative = text.startsWith("-");
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  const point = (dot < 0 ? mantissa.length : dot) + exponent; // position of the decimal point in digits
  let out: string;
  if (point <= 0) out = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

/** XPath string(). */
export function toText(v: Value | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return formatNumber(v);
  if (Array.isArray(v)) return (v as readonly Value[]).map((item) => toText(item)).join(" ");
  // A geopoint, as ODK writes it: "lat lon alt accuracy" (a missing part is 0).
  const point = v as { readonly [key: string]: Value };
  return ["lat", "lon", "alt", "accuracy"]
    .map((k) => {
      const part = own(point, k);
      return toText(pyTruthy(part) ? part : 0);
    })
    .join(" ");
}

/** number() of a string: a plain decimal (no exponent), else a date/datetime/time as days, else NaN. */
export function textToNumber(s: string): number {
  const m = NUMBER_RX.exec(s);
  if (m !== null) {
    const x = Number(m[1]);
    return Number.isFinite(x) ? x : NaN;
  }
  const days = dateDays(s);
  if (days !== null) return days;
  const ms = datetimeMs(s);
  if (ms !== null) return ms / DAY_MS;
  const t = timeMs(s);
  if (t !== null) return t / DAY_MS;
  return NaN;
}

/** XPath number(): empty, lists and geopoints are NaN; booleans 1/0. */
export function toNumber(v: Value | undefined): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return Number.isFinite(v) ? v : NaN;
  if (typeof v === "string") return textToNumber(v);
  return NaN;
}

const TRIM_RX = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

/** The text without leading and trailing whitespace, as Python's `str.strip()`. */
export function strip(s: string): string {
  return s.replace(TRIM_RX, "");
}

/** The whitespace-separated words of a text, as Python's `str.split()`. */
export function words(s: string): string[] {
  return s.split(SPACES_RX).filter((w) => w !== "");
}

/** Number of Unicode code points. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++; // a surrogate pair is one code point
    }
  }
  return n;
}

/** + and - when at least one operand is an ISO date or datetime string. */
export function dateArith(
  op: "+" | "-",
  a: Value,
  ka: TemporalKind | null,
  b: Value,
  kb: TemporalKind | null,
): Value {
  if (ka !== null && kb !== null) {
    const x = toNumber(a);
    const y = toNumber(b);
    return op === "-" ? x - y : x + y;
  }
  let date = a;
  let kind = ka;
  let other = b;
  if (kind === null) {
    if (op === "-") return toNumber(a) - toNumber(b);
    [date, kind, other] = [b, kb, a]; // number + date == date + number
  }
  let n = toNumber(other);
  if (Number.isNaN(n)) return null;
  if (op === "-") n = -n;
  const text = date as string;
  if (kind === "date") return daysToDate((dateDays(text) ?? 0) + n);
  const total = (datetimeMs(text) ?? 0) + n * DAY_MS;
  if (!Number.isFinite(total)) return null;
  return msToDatetime(Math.floor(total + 0.5)); // JavaScript's Math.round, as the docs write it
}

/** Normalise a result: NaN/infinite -> null, -0 -> 0, undefined -> null. */
export function output(v: Value | undefined): Value {
  if (v === undefined) return null;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return null;
    return v === 0 ? 0 : v;
  }
  return v;
}
