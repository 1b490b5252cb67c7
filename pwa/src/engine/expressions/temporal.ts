/**
 * Dates, times and datetimes: ISO strings recognised by their shape (docs/expressions.md, "Values"), the
 * proleptic Gregorian calendar of years 0001-9999 (Python's `date`), and the device clock.
 */

export const DAY_MS = 86_400_000;

const DATE_RX = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
export const DATETIME_RX =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$/;
const TIME_RX = /^([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (no range check). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** [year, month, day] of a number of days since 1970-01-01 (an integer). */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d];
}

/** First and last day Python's `date` can hold: 0001-01-01 and 9999-12-31. */
export const MIN_DAY = daysFromCivil(1, 1, 1);
export const MAX_DAY = daysFromCivil(9999, 12, 31);

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function validDays(y: number, m: number, d: number): number | null {
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  return daysFromCivil(y, m, d);
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function offsetMinutes(tz: string | undefined): number {
  if (tz === undefined || tz === "Z") return 0;
  const sign = tz.startsWith("-") ? -1 : 1;
  const digits = tz.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
}

/** Milliseconds of a fraction of a second as written: the first 3 digits, truncated. */
export function fracMs(frac: string | undefined): number {
  return Number((frac ?? "0").slice(0, 3).padEnd(3, "0"));
}

/** Days since 1970-01-01 of a valid "YYYY-MM-DD", else null. */
export function dateDays(s: string): number | null {
  const m = DATE_RX.exec(s);
  if (m === null) return null;
  return validDays(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** Milliseconds since the epoch (UTC) of an ISO datetime; no offset means UTC. */
export function datetimeMs(s: string): number | null {
  const m = DATETIME_RX.exec(s);
  if (m === null) return null;
  const days = validDays(Number(m[1]), Number(m[2]), Number(m[3]));
  if (days === null) return null;
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const sec = Number(m[6] ?? 0);
  if (h > 23 || mi > 59 || sec > 59) return null;
  const local = ((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + fracMs(m[7]);
  return local - offsetMinutes(m[8]) * 60_000;
}

/** Milliseconds since midnight of "HH:MM[:SS[.sss]]" (an offset is ignored), else null. */
export function timeMs(s: string): number | null {
  const m = TIME_RX.exec(s);
  if (m === null) return null;
  const h = Number(m[1]);
  const mi = Number(m[2]);
  const sec = Number(m[3] ?? 0);
  if (h > 23 || mi > 59 || sec > 59) return null;
  return ((h * 60 + mi) * 60 + sec) * 1000 + fracMs(m[4]);
}

export type TemporalKind = "date" | "datetime";

/** "date" or "datetime" for a valid ISO string of that shape, else null. */
export function temporalKind(v: unknown): TemporalKind | null {
  if (typeof v !== "string") return null;
  if (dateDays(v) !== null) return "date";
  if (datetimeMs(v) !== null) return "datetime";
  return null;
}

function formatDay(day: number): string {
  const [y, m, d] = civilFromDays(day);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** The date `floor(days)` days after 1970-01-01, or null outside years 0001-9999. */
export function daysToDate(days: number): string | null {
  if (!Number.isFinite(days)) return null;
  const day = Math.floor(days);
  if (day < MIN_DAY || day > MAX_DAY) return null;
  return formatDay(day);
}

/** A UTC ISO datetime of an integral number of ms, seconds precision unless there are milliseconds. */
export function msToDatetime(ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  const day = Math.floor(ms / DAY_MS);
  if (day < MIN_DAY || day > MAX_DAY) return null;
  const rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  const mi = Math.floor(rest / 60_000) % 60;
  const s = Math.floor(rest / 1000) % 60;
  const millis = rest % 1000;
  const fraction = millis !== 0 ? `.${pad(millis, 3)}` : "";
  return `${formatDay(day)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction}+00:00`;
}

/** Wall-clock fields (year, month, day, hour, minute, second, ms) of a date or datetime string as written. */
export type WallClock = [number, number, number, number, number, number, number];

export function writtenWallClock(s: string): WallClock | null {
  const days = dateDays(s);
  if (days !== null) return [Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10)), 0, 0, 0, 0];
  const m = DATETIME_RX.exec(s);
  if (m === null || datetimeMs(s) === null) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), fracMs(m[7])];
}

/** Wall-clock fields of a number of days since the epoch, in UTC (ms = floor(days × 86 400 000 + 0.5)). */
export function daysWallClock(days: number): WallClock | null {
  const scaled = days * DAY_MS + 0.5;
  if (!Number.isFinite(scaled)) return null;
  const ms = Math.floor(scaled);
  const day = Math.floor(ms / DAY_MS);
  if (day < MIN_DAY || day > MAX_DAY) return null;
  const [y, mo, d] = civilFromDays(day);
  const rest = ms - day * DAY_MS;
  return [
    y,
    mo,
    d,
    Math.floor(rest / 3_600_000),
    Math.floor(rest / 60_000) % 60,
    Math.floor(rest / 1000) % 60,
    rest % 1000,
  ];
}

// --- the device clock -----------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone (see isValidTimeZone).
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      era: "short",
    });
    if (formatters.size >= 64) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** True if the runtime knows this IANA zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The instant, truncated to the second, as the wall clock of the zone: days, seconds of the day, offset. */
export interface LocalTime {
  readonly days: number;
  readonly seconds: number;
  readonly offsetMinutes: number;
}

export function localTime(instant: number, timeZone: string): LocalTime {
  const second = Math.floor(instant / 1000) * 1000;
  const fields: Record<string, number> = {};
  let bc = false;
  for (const part of formatter(timeZone).formatToParts(second)) {
    if (part.type === "era") bc = part.value === "BC" || part.value === "B";
    else if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  const year = bc ? 1 - (fields.year ?? 0) : (fields.year ?? 0);
  const days = daysFromCivil(year, fields.month ?? 1, fields.day ?? 1);
  const seconds = ((fields.hour ?? 0) * 60 + (fields.minute ?? 0)) * 60 + (fields.second ?? 0);
  const offsetMinutes = Math.round((days * DAY_MS + seconds * 1000 - second) / 60_000);
  return { days, seconds, offsetMinutes };
}

/** `today()`: the local date. */
export function localDate(instant: number, timeZone: string): string {
  return formatDay(localTime(instant, timeZone).days);
}

/** `now()`: the local wall clock with the zone's offset, to the second (`2026-03-16T00:30:00+01:00`). */
export function localDatetime(instant: number, timeZone: string): string {
  const { days, seconds, offsetMinutes } = localTime(instant, timeZone);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const off = Math.abs(offsetMinutes);
  const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
  return `${formatDay(days)}T${time}${sign}${pad(Math.floor(off / 60), 2)}:${pad(off % 60, 2)}`;
}
