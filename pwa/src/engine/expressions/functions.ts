/** The eager functions (their arguments are evaluated first), as backend/terrain/expressions/evaluator.py. */

import { regexSearch } from "./regex.js";
import { DATETIME_RX, type WallClock, dateDays, datetimeMs, daysToDate, daysWallClock, pad, writtenWallClock } from "./temporal.js";
import type { Value } from "./types.js";
import { codePointLength, isEmpty, strip, toBoolean, toNumber, toText, words } from "./values.js";

/** Arity of every function of the language (FUNCTIONS in functions.py): [min, max], max null = variadic. */
export const ARITY: Readonly<Record<string, readonly [number, number | null]>> = {
  not: [1, 1],
  selected: [2, 2],
  "selected-at": [2, 2],
  "choice-label": [2, 2],
  "choice-property": [3, 3],
  once: [1, 1],
  "indexed-repeat": [3, 3],
  "count-selected": [1, 1],
  if: [3, 3],
  coalesce: [2, 2],
  "string-length": [1, 1],
  regex: [2, 2],
  contains: [2, 2],
  "starts-with": [2, 2],
  "ends-with": [2, 2],
  concat: [1, null],
  int: [1, 1],
  number: [1, 1],
  round: [1, 2],
  floor: [1, 1],
  ceiling: [1, 1],
  abs: [1, 1],
  today: [0, 0],
  now: [0, 0],
  date: [1, 1],
  "decimal-date-time": [1, 1],
  "format-date": [2, 2],
  "format-date-time": [2, 2],
  position: [0, 0],
  true: [0, 0],
  false: [0, 0],
  string: [1, 1],
  boolean: [1, 1],
  count: [1, 1],
  sum: [1, 1],
};

function numOrNull(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function selected(items: Value, value: Value): boolean {
  if (isEmpty(items)) return false;
  const wanted = strip(toText(value)); // ODK trims the value: selected('a b', ' a ') is true
  if (Array.isArray(items)) return items.some((item: Value) => toText(item) === wanted);
  return words(toText(items)).includes(wanted);
}

/** selected-at(items, n): the 0-based n-th item as text, `''` past the ends. */
function selectedAt(items: Value, n: Value): string {
  const index = toNumber(n);
  if (isEmpty(items) || !Number.isFinite(index)) return "";
  const i = Math.trunc(index);
  const values = Array.isArray(items) ? items.map((v: Value) => toText(v)) : words(toText(items));
  return i >= 0 && i < values.length ? (values[i] ?? "") : "";
}

function countSelected(items: Value): number {
  if (isEmpty(items)) return 0;
  if (Array.isArray(items)) return items.length;
  return words(toText(items)).length;
}

/** 10.0 ** k as CPython computes it on the server (glibc pow): two exponents differ from the literal 1ek. */
function powerOfTen(k: number): number {
  if (k === 23) return 1.0000000000000001e23;
  if (k === 210) return 1.0000000000000001e210;
  return Number(`1e${k}`);
}

/** sign(x) × floor(|x| × 10^n + 0.5) / 10^n (for n < 0: floor(|x| / 10^-n + 0.5) × 10^-n). */
export function roundHalfAway(x: number, digits: number): number {
  const sign = x < 0 ? -1 : 1;
  if (digits >= 0) {
    const m = powerOfTen(Math.min(digits, 308));
    const v = Math.abs(x) * m + 0.5;
    return Number.isFinite(v) ? (sign * Math.floor(v)) / m : x;
  }
  const m = powerOfTen(Math.min(-digits, 308));
  return sign * Math.floor(Math.abs(x) / m + 0.5) * m;
}

function round(x: Value, digits: Value = 0): number | null {
  const n = toNumber(x);
  const d = toNumber(digits);
  if (Number.isNaN(n) || Number.isNaN(d)) return null;
  return roundHalfAway(n, Math.trunc(d));
}

function date(x: Value): string | null {
  if (isEmpty(x)) return null;
  if (typeof x === "string") {
    if (dateDays(x) !== null) return x;
    if (DATETIME_RX.test(x) && datetimeMs(x) !== null) return x.slice(0, 10); // the date as written
  }
  const n = toNumber(x);
  return Number.isNaN(n) ? null : daysToDate(n);
}

function decimalDateTime(x: Value): number | null {
  if (isEmpty(x)) return null;
  return numOrNull(toNumber(x));
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function wallClock(x: Value): WallClock | null {
  if (typeof x === "string") {
    const written = writtenWallClock(x);
    if (written !== null) return written;
  }
  const n = toNumber(x);
  return Number.isNaN(n) ? null : daysWallClock(n);
}

/** format-date(d, fmt): the codes of docs/expressions.md; an unknown `%x` stays as is. */
export function formatDate(x: Value, fmt: Value): string {
  if (isEmpty(x)) return "";
  const parts = wallClock(x);
  if (parts === null) return "";
  const [y, mo, d, h, mi, s, ms] = parts;
  const days = dateDays(`${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`) ?? 0;
  const weekday = (((days + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  const codes: Readonly<Record<string, string>> = {
    Y: pad(y, 4),
    y: pad(y % 100, 2),
    m: pad(mo, 2),
    n: String(mo),
    d: pad(d, 2),
    e: String(d),
    H: pad(h, 2),
    h: String(h),
    M: pad(mi, 2),
    S: pad(s, 2),
    "3": pad(ms, 3),
    b: MONTHS[mo - 1] ?? "",
    a: WEEKDAYS[weekday] ?? "",
    "%": "%",
  };
  const text = toText(fmt);
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    const next = text[i + 1];
    if (c === "%" && next !== undefined && Object.hasOwn(codes, next)) {
      out += codes[next] ?? "";
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

function count(x: Value): number {
  if (isEmpty(x)) return 0;
  return Array.isArray(x) ? x.length : 1;
}

function sum(x: Value): number | null {
  const items: readonly Value[] = Array.isArray(x) ? x : [x];
  let total = 0;
  for (const item of items) {
    if (isEmpty(item)) continue;
    const n = toNumber(item);
    if (Number.isNaN(n)) return null;
    total += n;
  }
  return finiteOrNull(total);
}

export type Eager = (...args: Value[]) => Value;

/**
 * The functions that receive evaluated arguments (if, coalesce and the functions reading the context:
 * today, now, position, once, choice-label, choice-property, indexed-repeat are compiled in evaluator.ts).
 */
export const EAGER: Readonly<Record<string, Eager>> = {
  not: (x) => !toBoolean(x),
  selected: (items, value) => selected(items, value),
  "selected-at": (items, n) => selectedAt(items, n),
  "count-selected": (items) => countSelected(items),
  "string-length": (x) => codePointLength(toText(x)),
  regex: (x, pattern) => regexSearch(toText(x), toText(pattern)),
  contains: (a, b) => toText(a).includes(toText(b)),
  "starts-with": (a, b) => toText(a).startsWith(toText(b)),
  "ends-with": (a, b) => toText(a).endsWith(toText(b)),
  concat: (...args) => args.map((a) => toText(a)).join(""),
  int: (x) => {
    const n = toNumber(x);
    return Number.isNaN(n) ? null : Math.trunc(n);
  },
  number: (x) => numOrNull(toNumber(x)),
  round: (x, digits = 0) => round(x, digits),
  floor: (x) => numOrNull(Math.floor(toNumber(x))),
  ceiling: (x) => numOrNull(Math.ceil(toNumber(x))),
  abs: (x) => numOrNull(Math.abs(toNumber(x))),
  date: (x) => date(x),
  "decimal-date-time": (x) => decimalDateTime(x),
  "format-date": (x, fmt) => formatDate(x, fmt),
  "format-date-time": (x, fmt) => formatDate(x, fmt),
  string: (x) => toText(x),
  boolean: (x) => toBoolean(x),
  count: (x) => count(x),
  sum: (x) => sum(x),
};
