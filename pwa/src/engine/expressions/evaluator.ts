/**
 * The evaluator: a tree is checked and compiled once into closures (cached per tree object), then run
 * against an EvalContext. Behaviour: docs/expressions.md, as backend/terrain/expressions/evaluator.py.
 */

import { ARITY, EAGER } from "./functions.js";
import { localDate, localDatetime, temporalKind, timeMs } from "./temporal.js";
import { checkTree } from "./tree.js";
import type { BinaryOp, EvalContext, Tree, Value } from "./types.js";
import { dateArith, isEmpty, own, output, strip, toBoolean, toNumber, toText } from "./values.js";

type Fn = (ctx: EvalContext) => Value;

// --- operators -------------------------------------------------------------------------------------------

function isTemporal(v: Value): boolean {
  return typeof v === "string" && (temporalKind(v) !== null || timeMs(v) !== null);
}

/** `=`: empty only equals empty; then booleans, numbers, strings, and two ways of writing one instant. */
export function equals(a: Value, b: Value): boolean {
  const ea = isEmpty(a);
  const eb = isEmpty(b);
  if (ea || eb) return ea && eb;
  if (typeof a === "boolean" || typeof b === "boolean") return toBoolean(a) === toBoolean(b);
  if (typeof a === "number" || typeof b === "number") return toNumber(a) === toNumber(b);
  if (toText(a) === toText(b)) return true;
  return isTemporal(a) && isTemporal(b) && toNumber(a) === toNumber(b);
}

function relational(cmp: (x: number, y: number) => boolean): (a: Value, b: Value) => boolean {
  return (a, b) => {
    if (isEmpty(a) || isEmpty(b)) return false;
    const x = toNumber(a);
    const y = toNumber(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    return cmp(x, y);
  };
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function plusMinus(op: "+" | "-"): (a: Value, b: Value) => Value {
  return (a, b) => {
    if (isEmpty(a) || isEmpty(b)) return null;
    const ka = temporalKind(a);
    const kb = temporalKind(b);
    if (ka !== null || kb !== null) {
      const r = dateArith(op, a, ka, b, kb);
      return typeof r === "number" ? finite(r) : r;
    }
    const x = toNumber(a);
    const y = toNumber(b);
    return finite(op === "+" ? x + y : x - y);
  };
}

const BINARY: Readonly<Record<Exclude<BinaryOp, "and" | "or">, (a: Value, b: Value) => Value>> = {
  "=": equals,
  "!=": (a, b) => !equals(a, b),
  "<": relational((x, y) => x < y),
  "<=": relational((x, y) => x <= y),
  ">": relational((x, y) => x > y),
  ">=": relational((x, y) => x >= y),
  "+": plusMinus("+"),
  "-": plusMinus("-"),
  "*": (a, b) => (isEmpty(a) || isEmpty(b) ? null : finite(toNumber(a) * toNumber(b))),
  div: (a, b) => {
    if (isEmpty(a) || isEmpty(b)) return null;
    const y = toNumber(b);
    return y === 0 ? null : finite(toNumber(a) / y);
  },
  mod: (a, b) => {
    if (isEmpty(a) || isEmpty(b)) return null;
    const x = toNumber(a);
    const y = toNumber(b);
    if (y === 0 || Number.isNaN(x) || Number.isNaN(y)) return null;
    return finite(x % y); // C's fmod: the sign of the dividend, as XPath
  },
};

// --- compilation -----------------------------------------------------------------------------------------

function lookup(ctx: EvalContext, name: string): Value {
  if (ctx.choice !== undefined && name.startsWith("choice.")) return ctx.choice.get(name) ?? null;
  const answers = ctx.answers;
  if (answers instanceof Map) return (answers as ReadonlyMap<string, Value | undefined>).get(name) ?? null;
  return own(answers as { readonly [name: string]: Value | undefined }, name);
}

function compileNode(node: Tree): Fn {
  switch (node.t) {
    case "num": {
      const v = node.v;
      return () => v;
    }
    case "str": {
      const v = node.v;
      return () => v;
    }
    case "ref": {
      const name = node.n;
      return (ctx) => lookup(ctx, name);
    }
    case "cur":
      return (ctx) => ctx.current ?? null;
    case "neg": {
      const inner = compileNode(node.e);
      return (ctx) => {
        const x = inner(ctx);
        if (isEmpty(x)) return null;
        const n = toNumber(x);
        return Number.isNaN(n) ? null : -n;
      };
    }
    case "bin": {
      const left = compileNode(node.l);
      const right = compileNode(node.r);
      if (node.op === "and") return (ctx) => toBoolean(left(ctx)) && toBoolean(right(ctx));
      if (node.op === "or") return (ctx) => toBoolean(left(ctx)) || toBoolean(right(ctx));
      const fn = BINARY[node.op];
      return (ctx) => fn(left(ctx), right(ctx));
    }
    case "call":
      return compileCall(node.f, node.a.map(compileNode), node.a);
  }
}

function compileCall(name: string, args: readonly Fn[], trees: readonly Tree[]): Fn {
  const [a0, a1, a2] = args;
  switch (name) {
    case "once":
      if (a0 === undefined) break;
      return (ctx) => {
        const stored = ctx.current ?? null;
        return isEmpty(stored) ? a0(ctx) : stored;
      };
    case "choice-label":
      if (a0 === undefined || a1 === undefined) break;
      return (ctx) => {
        const v = a0(ctx);
        const hook = ctx.choiceLabel;
        if (isEmpty(v) || hook === undefined) return "";
        return hook(toText(a1(ctx)), strip(toText(v))) ?? "";
      };
    case "choice-property":
      if (a0 === undefined || a1 === undefined || a2 === undefined) break;
      return (ctx) => {
        const v = a0(ctx);
        const hook = ctx.choiceProperty;
        if (isEmpty(v) || hook === undefined) return "";
        return hook(toText(a1(ctx)), strip(toText(v)), toText(a2(ctx))) ?? "";
      };
    case "indexed-repeat": {
      const field = trees[0];
      if (field?.t !== "ref" || a2 === undefined) break;
      const name = field.n;
      return (ctx) => {
        const n = toNumber(a2(ctx));
        if (!Number.isFinite(n)) return null;
        const values = ctx.repeatValues !== undefined ? ctx.repeatValues(name) : lookup(ctx, name);
        const i = Math.trunc(n);
        if (!Array.isArray(values) || i < 1 || i > values.length) return null;
        return (values as readonly Value[])[i - 1] ?? null;
      };
    }
    case "if":
      if (a0 === undefined || a1 === undefined || a2 === undefined) break;
      return (ctx) => (toBoolean(a0(ctx)) ? a1(ctx) : a2(ctx));
    case "coalesce":
      if (a0 === undefined || a1 === undefined) break;
      return (ctx) => {
        const v = a0(ctx);
        return isEmpty(v) ? a1(ctx) : v;
      };
    case "today":
      return (ctx) => localDate(ctx.clock.instant, ctx.clock.timeZone);
    case "now":
      return (ctx) => localDatetime(ctx.clock.instant, ctx.clock.timeZone);
    case "position":
      return (ctx) => ctx.position ?? null;
    case "true":
      return () => true;
    case "false":
      return () => false;
    default: {
      const fn = Object.hasOwn(EAGER, name) ? EAGER[name] : undefined;
      if (fn === undefined) break;
      if (args.length === 1 && a0 !== undefined) return (ctx) => fn(a0(ctx));
      if (args.length === 2 && a0 !== undefined && a1 !== undefined) return (ctx) => fn(a0(ctx), a1(ctx));
      return (ctx) => fn(...args.map((a) => a(ctx)));
    }
  }
  // checkTree refuses unknown functions and wrong arities before compilation.
  throw new Error(`unreachable: ${name}/${String(args.length)} (arity ${JSON.stringify(ARITY[name])})`);
}

/** A compiled expression: gives normalised JSON values (no NaN, no -0). Never throws. */
export type Compiled = (ctx: EvalContext) => Value;

const compiledTrees = new WeakMap<object, Compiled>();

/**
 * Check and compile a tree (any JSON value: it is checked). Throws TreeError for a tree the server's parser
 * cannot have produced. Cached per tree object: treat the tree as immutable afterwards.
 */
export function compileTree(tree: unknown): Compiled {
  if (typeof tree === "object" && tree !== null) {
    const hit = compiledTrees.get(tree);
    if (hit !== undefined) return hit;
  }
  const inner = compileNode(checkTree(tree));
  const compiled: Compiled = (ctx) => output(inner(ctx));
  compiledTrees.set(tree as object, compiled);
  return compiled;
}

/** Evaluate a tree: the JSON result. Throws TreeError only for a malformed tree (see compileTree). */
export function evaluate(tree: unknown, ctx: EvalContext): Value {
  return compileTree(tree)(ctx);
}
