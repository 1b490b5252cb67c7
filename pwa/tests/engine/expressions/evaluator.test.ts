/** The engine's own contract: trees it refuses, the context it reads, caching, clock and choice filters. */

import { describe, expect, test } from "vitest";

import {
  MAX_TREE_DEPTH,
  TreeError,
  checkTree,
  choiceProperties,
  compileTree,
  deviceClock,
  evaluate,
  isValidTimeZone,
  references,
  usesCurrent,
  usesFunction,
  type Tree,
} from "../../../src/engine/expressions/index.js";
import { UTC_CLOCK, bin, call, cur, num, ref, str } from "./build.js";

function chain(terms: number): Tree {
  let tree: Tree = num(1);
  for (let i = 1; i < terms; i++) tree = bin(tree, "+", num(1));
  return tree;
}

describe("trees the engine refuses", () => {
  const cases: readonly (readonly [string, unknown, string])[] = [
    ["not an object", 3, "bad_tree"],
    ["null", null, "bad_tree"],
    ["unknown node type", { t: "xpath", v: "/a" }, "syntax_error"],
    ["unknown operator", { t: "bin", op: "**", l: num(1), r: num(2) }, "syntax_error"],
    ["unknown function", call("pulldata", str("a")), "unknown_function"],
    ["a prototype name as function", call("constructor"), "unknown_function"],
    ["wrong arity", call("not"), "wrong_arity"],
    ["wrong arity of if", call("if", num(1), num(2)), "wrong_arity"],
    ["a number literal that is a string", { t: "num", v: "3" }, "bad_tree"],
    ["a reference without a name", { t: "ref" }, "bad_tree"],
    ["arguments not a list", { t: "call", f: "not", a: {} }, "bad_tree"],
    ["a missing operand", { t: "bin", op: "+", l: num(1) }, "bad_tree"],
    ["too deep", chain(MAX_TREE_DEPTH + 1), "too_deep"],
  ];

  test.each(cases.map(([name, tree, code]) => [name, tree, code] as const))("%s: %s", (_name, tree, code) => {
    let error: unknown;
    try {
      compileTree(tree);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TreeError);
    expect((error as TreeError).code).toBe(code);
    expect(() => evaluate(tree, { answers: {}, clock: UTC_CLOCK })).toThrow(TreeError);
  });

  test("a long operator chain below the limit runs", () => {
    // Python's recursive compiler raises RecursionError near 500 terms; the engine takes up to the limit.
    expect(evaluate(chain(MAX_TREE_DEPTH), { answers: {}, clock: UTC_CLOCK })).toBe(MAX_TREE_DEPTH);
  });
});

describe("the context", () => {
  test("answers may be a Map", () => {
    const answers = new Map([["age", 30]]);
    expect(evaluate(bin(ref("age"), ">=", num(18)), { answers, clock: UTC_CLOCK })).toBe(true);
  });

  test("names of Object.prototype are unanswered, not inherited", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(evaluate(ref(name), { answers: {}, clock: UTC_CLOCK })).toBeNull();
    }
  });

  test("current and position default to empty", () => {
    expect(evaluate(cur, { answers: {}, clock: UTC_CLOCK })).toBeNull();
    expect(evaluate(call("position"), { answers: {}, clock: UTC_CLOCK })).toBeNull();
    expect(evaluate(call("position"), { answers: {}, position: 4, clock: UTC_CLOCK })).toBe(4);
  });

  test("a choice filter reads choice.* from the choice only", () => {
    const filter = bin(ref("choice.groupe"), "=", ref("groupe"));
    const choice = choiceProperties({ value: "6_15", filter: { groupe: "enfant" } });
    const answers = { groupe: "enfant", "choice.groupe": "adulte" };
    expect(evaluate(filter, { answers, choice, clock: UTC_CLOCK })).toBe(true);
    expect(evaluate(ref("choice.value"), { answers, choice, clock: UTC_CLOCK })).toBe("6_15");
    expect(evaluate(ref("choice.absent"), { answers, choice, clock: UTC_CLOCK })).toBeNull();
    // Without a choice, choice.* names are ordinary answers.
    expect(evaluate(ref("choice.groupe"), { answers, clock: UTC_CLOCK })).toBe("adulte");
  });

  test("a filter property named value overrides the value, as on the server", () => {
    const choice = choiceProperties({ value: "a", filter: { value: "b" } });
    expect(choice.get("choice.value")).toBe("b");
    expect(choiceProperties({ value: "a", filter: null }).get("choice.value")).toBe("a");
  });
});

describe("the clock", () => {
  const at = (iso: string, timeZone: string) => ({ answers: {}, clock: { instant: Date.parse(iso), timeZone } });

  test("today() and now() read the instant in the zone", () => {
    expect(evaluate(call("today"), at("2026-03-15T23:30:00Z", "Europe/Paris"))).toBe("2026-03-16");
    expect(evaluate(call("now"), at("2026-03-15T23:30:00.999Z", "Europe/Paris"))).toBe("2026-03-16T00:30:00+01:00");
    expect(evaluate(call("now"), at("2026-03-15T02:00:00Z", "America/St_Johns"))).toBe("2026-03-14T23:30:00-02:30");
    expect(evaluate(call("now"), at("1969-12-31T23:59:59.500Z", "UTC"))).toBe("1969-12-31T23:59:59+00:00");
  });

  test("an unknown zone is reported", () => {
    expect(isValidTimeZone("Europe/Paris")).toBe(true);
    expect(isValidTimeZone("Europe/Atlantis")).toBe(false);
    expect(() => evaluate(call("today"), at("2026-03-15T10:00:00Z", "Europe/Atlantis"))).toThrow(RangeError);
  });

  test("the device clock has a zone the runtime knows", () => {
    const clock = deviceClock(new Date("2026-03-15T10:30:00Z"));
    expect(clock.instant).toBe(Date.parse("2026-03-15T10:30:00Z"));
    expect(isValidTimeZone(clock.timeZone)).toBe(true);
  });
});

describe("compiled trees", () => {
  test("are cached per tree object", () => {
    const tree = bin(ref("a"), "+", num(1));
    expect(compileTree(tree)).toBe(compileTree(tree));
    expect(compileTree(tree)).not.toBe(compileTree(bin(ref("a"), "+", num(1))));
    expect(compileTree(tree)({ answers: { a: 2 }, clock: UTC_CLOCK })).toBe(3);
  });

  test("if and coalesce evaluate only the branch they take", () => {
    const boom = { t: "call", f: "today", a: [] } as const;
    const noClock = { answers: { a: "x" }, clock: { instant: 0, timeZone: "Europe/Atlantis" } };
    expect(evaluate(call("if", num(1), str("yes"), boom), noClock)).toBe("yes");
    expect(evaluate(call("coalesce", ref("a"), boom), noClock)).toBe("x");
    expect(evaluate(bin(num(0), "and", boom), noClock)).toBe(false);
    expect(evaluate(bin(num(1), "or", boom), noClock)).toBe(true);
  });
});

describe("tree inspection", () => {
  const tree = bin(call("concat", ref("b"), cur, ref("a")), "=", call("if", ref("b"), call("today"), str("")));

  test("references in order of first appearance", () => {
    expect(references(tree)).toStrictEqual(["b", "a"]);
  });

  test("uses of . and of functions", () => {
    expect(usesCurrent(tree)).toBe(true);
    expect(usesCurrent(ref("a"))).toBe(false);
    expect(usesFunction(tree, "today")).toBe(true);
    expect(usesFunction(tree, "now")).toBe(false);
    expect(checkTree(tree)).toBe(tree);
  });
});
