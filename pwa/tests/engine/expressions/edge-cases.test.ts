/**
 * Edge cases beyond the shared vectors. Every expected value below was obtained from the Python evaluator
 * (terrain.expressions.evaluate, now = 2026-03-15T10:30:00Z in UTC) for the same tree and answers.
 */

import { describe, expect, test } from "vitest";

import { evaluate, type Tree, type Value } from "../../../src/engine/expressions/index.js";
import { UTC_CLOCK, bin, call, neg, num, ref, str } from "./build.js";

const a = ref("a");
const b = ref("b");

const CASES: readonly (readonly [string, Tree, Record<string, Value>, Value])[] = [
  // string(): shortest round-trip digits, never an exponent
  ["string of the smallest double", call("string", a), { a: 5e-324 }, `0.${"0".repeat(323)}5`],
  ["string of 1.5e-7", call("string", a), { a: 1.5e-7 }, "0.00000015"],
  ["string of 1e21", call("string", a), { a: 1e21 }, "1000000000000000000000"],
  ["string of -1e-7", call("string", a), { a: -1e-7 }, "-0.0000001"],
  ["string of 123456.789", call("string", a), { a: 123456.789 }, "123456.789"],
  // number(): Python's whitespace, no exponent, ISO shapes
  ["no-break spaces are stripped", call("number", a), { a: "\u00a05" }, 5],
  ["U+001C and U+0085 are whitespace in Python", call("number", a), { a: "\u001c5\u0085" }, 5],
  ["U+FEFF is not whitespace in Python", call("number", a), { a: "\ufeff5" }, null],
  ["a trailing point", call("number", a), { a: "5." }, 5],
  ["a leading point", call("number", a), { a: "-.5" }, -0.5],
  ["a datetime is fractional days", call("number", a), { a: "2026-03-15T10:30:00Z" }, 20527.4375],
  ["a time is a fraction of a day", call("number", a), { a: "10:30" }, 0.4375],
  ["24:00 is no time", call("number", a), { a: "24:00" }, null],
  ["year 0 is no date", call("number", a), { a: "0000-01-01" }, null],
  // words, booleans, lengths
  ["count-selected splits on U+001C", call("count-selected", a), { a: "a\u001cb" }, 2],
  ["count-selected does not split on U+FEFF", call("count-selected", a), { a: "a\ufeffb" }, 1],
  ["an empty object is false", call("boolean", a), { a: {} }, false],
  ["a geopoint is true", call("boolean", a), { a: { lat: 0 } }, true],
  ["string-length counts code points", call("string-length", a), { a: "😀a" }, 2],
  ["selected never finds the empty word", call("selected", a, str("")), { a: "a b" }, false],
  ["selected compares strings of list items", call("selected", a, b), { a: [1, 2.5], b: "2.5" }, true],
  ["concat of a list and a geopoint", call("concat", a, b), { a: [true, null, 1.5], b: { lat: 1.5, lon: -2 } }, "true  1.51.5 -2 0 0"],
  ["geopoint parts Python finds falsy print 0", call("string", a), { a: { lat: "", lon: false, alt: [], accuracy: {} } }, "0 0 0 0"],
  // dates
  ["weekday before 1970", call("format-date", a, str("%a %d")), { a: "1969-12-31" }, "Wed 31"],
  ["a negative number of days", call("format-date", a, str("%Y-%m-%d %H:%M %a")), { a: -0.5 }, "1969-12-31 12:00 Wed"],
  ["milliseconds as written, truncated", call("format-date", a, str("%3")), { a: "2026-03-15T10:30:00.98765Z" }, "987"],
  ["before year 1", bin(a, "-", num(1)), { a: "0001-01-01" }, null],
  ["after year 9999", bin(a, "+", num(1)), { a: "9999-12-31T23:59:59Z" }, null],
  ["datetime plus half a day", bin(a, "+", num(0.5)), { a: "1970-01-01T00:00:00Z" }, "1970-01-01T12:00:00+00:00"],
  ["milliseconds are kept", bin(a, "+", num(1e-10)), { a: "1970-01-01T00:00:00.001Z" }, "1970-01-01T00:00:00.001+00:00"],
  ["date of a time", call("date", a), { a: "10:30" }, "1970-01-01"],
  ["date of true", call("date", a), { a: true }, "1970-01-02"],
  ["date out of range", call("date", a), { a: 1e300 }, null],
  ["two ways to write one time", bin(a, "=", b), { a: "10:30", b: "10:30:00.000+02:00" }, true],
  ["date before datetime", bin(a, "<", b), { a: "2026-03-15", b: "2026-03-15T00:00:01Z" }, true],
  ["now minus a later instant", bin(call("now"), "-", str("2026-03-15T10:30:00.5Z")), {}, -5.7870383898261935e-6],
  // aggregates over repeats (a field of a repeat read from outside it is the list of its values)
  ["sum skips empty items", call("sum", a), { a: [1, "2", null, ""] }, 3],
  ["sum of a non-number is empty", call("sum", a), { a: ["x", 1] }, null],
  ["sum overflowing is empty", call("sum", a), { a: [1e308, 1e308] }, null],
  ["count counts unanswered blocks", call("count", a), { a: [null, null] }, 2],
  ["count of false is 1", call("count", a), { a: false }, 1],
  // numbers
  ["int(-0.5) is 0, not -0", call("int", num(-0.5)), {}, 0],
  ["-0 is 0", neg(num(0)), {}, 0],
  ["round(-0.4) is 0", call("round", num(-0.4)), {}, 0],
  ["round at 23 digits (Python's 10.0 ** 23)", call("round", num(2.5), num(23)), {}, 2.5],
  ["round at 210 digits", call("round", num(1.23456789), num(210)), {}, 1.23456789],
  ["round as binary floats dictate", call("round", num(0.285), num(2)), {}, 0.28],
  ["round to hundreds", call("round", num(1234.5678), num(-2)), {}, 1200],
  ["round to 10^400", call("round", num(5), num(-400)), {}, 0],
  ["mod keeps the dividend's sign", bin(a, "mod", b), { a: -7.5, b: 2 }, -1.5],
  ["division by -0", bin(a, "div", b), { a: 1, b: -0 }, null],
  ["a list equals its joined words", bin(a, "=", b), { a: ["a", "b"], b: "a b" }, true],
];

describe("edge cases, as the Python evaluator gives them", () => {
  test.each(CASES.map(([name, tree, answers, expected]) => [name, tree, answers, expected] as const))(
    "%s",
    (_name, tree, answers, expected) => {
      // Exact: both evaluators do the same IEEE operations in the same order.
      expect(evaluate(tree, { answers, clock: UTC_CLOCK })).toStrictEqual(expected);
    },
  );

  test("no result is ever -0", () => {
    expect(Object.is(evaluate(call("int", num(-0.5)), { answers: {}, clock: UTC_CLOCK }), 0)).toBe(true);
    expect(Object.is(evaluate(neg(num(0)), { answers: {}, clock: UTC_CLOCK }), 0)).toBe(true);
  });
});
