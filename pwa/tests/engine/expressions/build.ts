/** Tiny tree builders for unit tests (the PWA never parses sources: tests write trees directly). */

import type { BinaryOp, Tree } from "../../../src/engine/expressions/index.js";

export const num = (v: number): Tree => ({ t: "num", v });
export const str = (v: string): Tree => ({ t: "str", v });
export const ref = (n: string): Tree => ({ t: "ref", n });
export const cur: Tree = { t: "cur" };
export const neg = (e: Tree): Tree => ({ t: "neg", e });
export const bin = (l: Tree, op: BinaryOp, r: Tree): Tree => ({ t: "bin", op, l, r });
export const call = (f: string, ...a: Tree[]): Tree => ({ t: "call", f, a });

export const UTC_CLOCK = { instant: Date.parse("2026-03-15T10:30:00Z"), timeZone: "UTC" } as const;
