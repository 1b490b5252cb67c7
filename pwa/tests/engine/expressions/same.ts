import type { Value } from "../../../src/engine/expressions/index.js";

/** The vectors' comparison (tests/expressions/test_vectors.py): numbers within 1e-9, everything else exact. */
export function same(actual: Value, expected: Value): boolean {
  if (typeof actual === "boolean" || typeof expected === "boolean") return actual === expected;
  if (typeof actual === "number" && typeof expected === "number") {
    return Math.abs(actual - expected) <= Math.max(1e-9 * Math.max(Math.abs(actual), Math.abs(expected)), 1e-9);
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    return (
      actual.length === expected.length &&
      actual.every((a: Value, i: number) => same(a, (expected as readonly Value[])[i] ?? null))
    );
  }
  return JSON.stringify(actual) === JSON.stringify(expected);
}
