/** regex(): the portable subset translated to JavaScript. Expected values are Python's (re, ASCII, search). */

import { describe, expect, test } from "vitest";

import { compilePattern, evaluate, translatePattern } from "../../../src/engine/expressions/index.js";
import { UTC_CLOCK, call, ref } from "./build.js";

const MATCHES: readonly (readonly [string, string, boolean])[] = [
  ["\\s", "\u00a0", false], // \s is ASCII
  ["^.$", "\r", true], // Python's . only excludes \n
  ["^.$", "\u2028", true],
  ["^.$", "\n", false],
  ["a$", "a\n", false], // $ is the very end
  ["\\B", "", false], // Python's \B fails on an empty text
  ["\\B", "0😀_", false], // V8 alone finds one inside the surrogate pair
  ["a++a", "aaa", false], // possessive: gives nothing back
  ["(?:a|b)*+b", "ab", false],
  ["a{1}+", "a", true],
  ["a{", "a{", true], // not a quantifier: a literal {
  ["{", "{", true],
  ["x{2}{", "xx{", true],
  ["a{,2}b", "aab", true],
  ["x{,}", "", true],
  ["\\-", "-", true], // escaped punctuation (a syntax error in JavaScript's u mode)
  ["\\é", "é", true],
  ["\\0", "\u0000", true],
  ["\\a", "\u0007", true],
  ["[\\b]", "\b", true],
  ["]", "]", true],
  ["[a-]", "-", true],
  ["[\\w-]", "-", true],
  ["[\\S]", "\u00a0", true],
  ["[^\\S]", "\u00a0", false],
  ["[^\\S]", " ", true],
  ["\\d", "\u0661", false],
  ["\\w", "é", false],
  ["\\bé", "é", false],
  ["\\Bé", "aé", false],
  ["^😀$", "😀", true], // code points, not UTF-16 units
  ["^.$", "😀", true],
  ["[😀-😂]", "😁", true],
  ["^[0-9]{5}$", "75015", true],
];

const INVALID = [
  "a**",
  "a*?+",
  "[z-a]",
  "[a-\\d]",
  "\\q",
  "\\x41",
  "(?=x)",
  "(?P<x>a)",
  "[]a]",
  "[[:alpha:]]",
  "\\1",
  "a{2,1}",
  "a{4294967295}",
  "*",
  "^*",
  "\\",
  "[\\B]",
  "(a",
  "a)",
  "[a",
];

describe("regex patterns", () => {
  test.each(MATCHES.map(([p, t, want]) => [p, t, want] as const))("%j on %j is %s", (pattern, text, want) => {
    const rx = compilePattern(pattern);
    expect(rx).not.toBeNull();
    expect(rx?.test(text)).toBe(want);
  });

  test.each(INVALID.map((p) => [p] as const))("%j is outside the subset", (pattern) => {
    expect(translatePattern(pattern)).toHaveProperty("reason");
    expect(compilePattern(pattern)).toBeNull();
  });

  test("a pattern computed at run time that is invalid makes regex() false", () => {
    const tree = call("regex", ref("a"), ref("p"));
    expect(evaluate(tree, { answers: { a: "1", p: "[0-9" }, clock: UTC_CLOCK })).toBe(false);
    expect(evaluate(tree, { answers: { a: "1", p: "[0-9]" }, clock: UTC_CLOCK })).toBe(true);
  });

  test("the JavaScript source escapes every literal and captures nothing", () => {
    expect(translatePattern("(a|b)-{2}")).toStrictEqual({ source: "(?:a|b)\\u{2d}{2}" });
  });

  test("deep nesting is refused rather than overflowing", () => {
    expect(compilePattern(`${"(".repeat(401)}a${")".repeat(401)}`)).toBeNull();
    expect(compilePattern(`${"(".repeat(300)}a${")".repeat(300)}`)?.test("a")).toBe(true);
  });
});
