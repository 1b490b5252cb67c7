/** Conversions and the calendar, checked against independent references. */

import { describe, expect, test } from "vitest";

import {
  MAX_DAY,
  MIN_DAY,
  civilFromDays,
  dateDays,
  daysFromCivil,
  daysToDate,
  msToDatetime,
} from "../../../src/engine/expressions/temporal.js";
import { formatNumber, toBoolean, toText, words } from "../../../src/engine/expressions/values.js";

describe("the calendar", () => {
  test("days agree with JavaScript's Date over four centuries and at the ends", () => {
    const wrong: number[] = [];
    for (let day = daysFromCivil(1800, 1, 1); day <= daysFromCivil(2200, 12, 31); day += 3) {
      const iso = new Date(day * 86_400_000).toISOString().slice(0, 10);
      if (daysToDate(day) !== iso || dateDays(iso) !== day) wrong.push(day);
    }
    expect(wrong).toStrictEqual([]);
    expect(daysToDate(MIN_DAY)).toBe("0001-01-01");
    expect(daysToDate(MAX_DAY)).toBe("9999-12-31");
    expect(daysToDate(MIN_DAY - 1)).toBeNull();
    expect(daysToDate(MAX_DAY + 1)).toBeNull();
    expect(civilFromDays(0)).toStrictEqual([1970, 1, 1]);
  });

  test("only real calendar dates", () => {
    expect(dateDays("2028-02-29")).not.toBeNull();
    expect(dateDays("2026-02-29")).toBeNull();
    expect(dateDays("2100-02-29")).toBeNull();
    expect(dateDays("2000-02-29")).not.toBeNull();
    expect(dateDays("2026-13-01")).toBeNull();
    expect(dateDays("2026-1-01")).toBeNull();
  });

  test("datetimes are written in UTC, with milliseconds only when there are some", () => {
    expect(msToDatetime(0)).toBe("1970-01-01T00:00:00+00:00");
    expect(msToDatetime(-1)).toBe("1969-12-31T23:59:59.999+00:00");
    // Four digits as the docs say (Python's strftime on glibc writes year 1 as "1").
    expect(msToDatetime(Date.parse("0001-01-01T00:00:00Z"))).toBe("0001-01-01T00:00:00+00:00");
  });
});

describe("conversions", () => {
  test("numbers print like Python, without exponent", () => {
    expect(formatNumber(0.1 + 0.2)).toBe("0.30000000000000004");
    expect(formatNumber(-0)).toBe("0");
    expect(formatNumber(2 ** 70)).toBe("1180591620717411303424");
    expect(formatNumber(1.2345e-10)).toBe("0.00000000012345");
    expect(formatNumber(NaN)).toBe("");
    expect(formatNumber(-Infinity)).toBe("");
  });

  test("strings and booleans of lists and geopoints", () => {
    expect(toText(["a", 1, true, null])).toBe("a 1 true ");
    expect(toText({ lat: 48.85, lon: 2.35 })).toBe("48.85 2.35 0 0");
    expect(toBoolean([])).toBe(false);
    expect(toBoolean(NaN)).toBe(false);
    expect(words("  a\u3000b\u0085c  ")).toStrictEqual(["a", "b", "c"]);
  });
});
