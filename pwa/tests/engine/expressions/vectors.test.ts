/**
 * The shared vectors (tests/vectors/expressions.json, read from the repository): every case is one test.
 * The PWA never parses: it evaluates each case's stored `tree`, with the case's (else the file's) `now` and
 * `timezone`, and must give exactly what the Python evaluator gives.
 */

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";

import { checkTree, evaluate, type Value } from "../../../src/engine/expressions/index.js";
import { same } from "./same.js";

interface Case {
  readonly id: string;
  readonly expr: string;
  readonly tree?: unknown;
  readonly answers: Record<string, Value>;
  readonly current?: Value;
  readonly position?: number;
  readonly now?: string;
  readonly timezone?: string;
  readonly types?: Record<string, string>;
  readonly choice_labels?: Record<string, Record<string, string>>;
  readonly choice_properties?: Record<string, Record<string, Record<string, string>>>;
  readonly expect?: Value;
  readonly error?: string;
  readonly error_stage?: "parse" | "type";
}

interface Vectors {
  readonly version: number;
  readonly now: string;
  readonly timezone?: string;
  readonly cases: readonly Case[];
}

const VECTORS = JSON.parse(
  readFileSync(new URL("../../../../tests/vectors/expressions.json", import.meta.url), "utf-8"),
) as Vectors;

const parseErrors = VECTORS.cases.filter((c) => c.error_stage === "parse");
const runnable = VECTORS.cases.filter((c) => c.error_stage !== "parse");
const withTree = runnable.filter((c) => c.tree !== undefined);
const withoutTree = runnable.filter((c) => c.tree === undefined);

function clockOf(c: Case): { instant: number; timeZone: string } {
  const now = c.now ?? VECTORS.now;
  const instant = Date.parse(now);
  if (Number.isNaN(instant)) throw new Error(`${c.id}: bad now ${now}`);
  return { instant, timeZone: c.timezone ?? VECTORS.timezone ?? "UTC" };
}

/** The case's `choice_labels` (list -> value -> label) as the `choiceLabel` hook. */
function labelsOf(labels: Record<string, Record<string, string>>): (list: string, value: string) => string | null {
  return (list, value) => {
    const values = Object.hasOwn(labels, list) ? labels[list] : undefined;
    return values !== undefined && Object.hasOwn(values, value) ? (values[value] ?? null) : null;
  };
}

/** The case's `choice_properties` (list -> value -> property -> text) as the `choiceProperty` hook. */
function propertiesOf(
  props: Record<string, Record<string, Record<string, string>>>,
): (list: string, value: string, prop: string) => string | null {
  return (list, value, prop) => {
    const values = Object.hasOwn(props, list) ? props[list] : undefined;
    const choice = values !== undefined && Object.hasOwn(values, value) ? values[value] : undefined;
    return choice !== undefined && Object.hasOwn(choice, prop) ? (choice[prop] ?? null) : null;
  };
}

function run(c: Case): Value {
  return evaluate(c.tree, {
    answers: c.answers,
    current: c.current ?? null,
    position: c.position ?? null,
    clock: clockOf(c),
    ...(c.choice_labels !== undefined ? { choiceLabel: labelsOf(c.choice_labels) } : {}),
    ...(c.choice_properties !== undefined ? { choiceProperty: propertiesOf(c.choice_properties) } : {}),
  });
}

describe(`expression vectors: ${VECTORS.cases.length} cases, ${withoutTree.length} still without a tree`, () => {
  test("the file is the version this runner reads", () => {
    expect(VECTORS.version).toBe(1);
    expect(new Set(VECTORS.cases.map((c) => c.id)).size).toBe(VECTORS.cases.length);
  });

  test.each(withTree.filter((c) => c.error === undefined).map((c) => [c.id, c] as const))(
    "%s",
    (_id, c) => {
      const result = run(c);
      expect(same(result, c.expect ?? null), `${c.expr}: got ${JSON.stringify(result)}`).toBe(true);
    },
  );

  // A type error is refused by the server before a spec is published, so the PWA never receives such a tree;
  // still, evaluating it must not throw (as in Python, evaluation never raises for a parsed tree).
  test.each(withTree.filter((c) => c.error !== undefined).map((c) => [c.id, c] as const))(
    "%s (type error on the server: evaluates without throwing)",
    (_id, c) => {
      expect(() => checkTree(c.tree)).not.toThrow();
      const result = run(c);
      expect(result === null || ["boolean", "number", "string", "object"].includes(typeof result)).toBe(true);
    },
  );

  // The source does not parse: the server refuses the spec, there is no tree to evaluate.
  test.each(parseErrors.map((c) => [c.id, c] as const))("%s (parse error: no tree)", (_id, c) => {
    expect(c.tree).toBeUndefined();
  });

  // Cases whose tree is not in the file yet: skipped, and counted in the title above.
  test.skip.each(withoutTree.map((c) => [c.id] as const))("%s (no tree in the file yet)", () => {
    /* nothing to evaluate */
  });
});
