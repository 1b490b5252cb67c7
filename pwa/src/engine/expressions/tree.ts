/** Checking and walking trees (the JSON of docs/architecture.md, "Expression trees"). */

import { ARITY } from "./functions.js";
import type { BinaryOp, Tree } from "./types.js";

/** Nodes nested deeper than this are refused (the parser limits parentheses, not long operator chains). */
export const MAX_TREE_DEPTH = 1000;
/** At most this many nodes in one tree. */
export const MAX_TREE_NODES = 100_000;

const OPS: ReadonlySet<string> = new Set<BinaryOp>([
  "+",
  "-",
  "*",
  "div",
  "mod",
  "=",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "and",
  "or",
]);

/**
 * A tree the engine cannot run: it was not produced by the server's parser (a corrupted or forged spec).
 * `code` reuses the parser's codes where they apply: `syntax_error` (unknown node type or operator),
 * `unknown_function`, `wrong_arity`; `bad_tree` (a malformed node), `too_deep` and `too_large` otherwise.
 */
export class TreeError extends Error {
  constructor(
    readonly code: "syntax_error" | "unknown_function" | "wrong_arity" | "bad_tree" | "too_deep" | "too_large",
    readonly params: Readonly<Record<string, string | number>> = {},
  ) {
    super(`${code} ${JSON.stringify(params)}`);
    this.name = "TreeError";
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function field(node: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

/** Check that a JSON value is a tree the engine can run; returns it typed. Iterative: no deep recursion. */
export function checkTree(value: unknown): Tree {
  const stack: [unknown, number][] = [[value, 1]];
  let count = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop() ?? [null, 0];
    if (++count > MAX_TREE_NODES) throw new TreeError("too_large", { max: MAX_TREE_NODES });
    if (depth > MAX_TREE_DEPTH) throw new TreeError("too_deep", { max: MAX_TREE_DEPTH });
    if (!isRecord(node)) throw new TreeError("bad_tree", { reason: "a node is not an object" });
    const t = field(node, "t");
    switch (t) {
      case "num": {
        const v = field(node, "v");
        if (typeof v !== "number" || !Number.isFinite(v)) throw new TreeError("bad_tree", { reason: "num.v" });
        break;
      }
      case "str":
        if (typeof field(node, "v") !== "string") throw new TreeError("bad_tree", { reason: "str.v" });
        break;
      case "ref":
        if (typeof field(node, "n") !== "string") throw new TreeError("bad_tree", { reason: "ref.n" });
        break;
      case "cur":
        break;
      case "neg":
        stack.push([field(node, "e"), depth + 1]);
        break;
      case "bin": {
        const op = field(node, "op");
        if (typeof op !== "string" || !OPS.has(op)) throw new TreeError("syntax_error", { token: String(op) });
        stack.push([field(node, "r"), depth + 1], [field(node, "l"), depth + 1]);
        break;
      }
      case "call": {
        const f = field(node, "f");
        const args = field(node, "a");
        if (typeof f !== "string") throw new TreeError("bad_tree", { reason: "call.f" });
        const arity = Object.hasOwn(ARITY, f) ? ARITY[f] : undefined;
        if (arity === undefined) throw new TreeError("unknown_function", { name: f });
        if (!Array.isArray(args)) throw new TreeError("bad_tree", { reason: "call.a" });
        const [min, max] = arity;
        if (args.length < min || (max !== null && args.length > max)) {
          throw new TreeError("wrong_arity", { name: f, got: args.length });
        }
        // arguments whose form is their meaning (the parser refuses other forms: argument_kind)
        if (f === "choice-label" && !(isRecord(args[1]) && field(args[1], "t") === "str")) {
          throw new TreeError("bad_tree", { reason: "choice-label list" });
        }
        if (f === "choice-property" && !args.slice(1, 3).every((a) => isRecord(a) && field(a, "t") === "str")) {
          throw new TreeError("bad_tree", { reason: "choice-property list and property" });
        }
        if (f === "indexed-repeat" && !args.slice(0, 2).every((a) => isRecord(a) && field(a, "t") === "ref")) {
          throw new TreeError("bad_tree", { reason: "indexed-repeat references" });
        }
        for (let i = args.length - 1; i >= 0; i--) stack.push([args[i], depth + 1]);
        break;
      }
      default:
        throw new TreeError("syntax_error", { token: String(t) });
    }
  }
  return value as Tree;
}

/** Every node, depth first, left to right (the order of the source text). */
export function* walk(tree: Tree): Generator<Tree> {
  const stack: Tree[] = [tree];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    yield node;
    if (node.t === "bin") stack.push(node.r, node.l);
    else if (node.t === "neg") stack.push(node.e);
    else if (node.t === "call") for (let i = node.a.length - 1; i >= 0; i--) stack.push(node.a[i] as Tree);
  }
}

/** Referenced names in order of first appearance, without duplicates. */
export function references(tree: Tree): string[] {
  const seen = new Set<string>();
  for (const node of walk(tree)) if (node.t === "ref") seen.add(node.n);
  return [...seen];
}

export function usesCurrent(tree: Tree): boolean {
  for (const node of walk(tree)) if (node.t === "cur") return true;
  return false;
}

/** True if the tree calls `name` (e.g. `today`/`now`: the value depends on the clock). */
export function usesFunction(tree: Tree, name: string): boolean {
  for (const node of walk(tree)) if (node.t === "call" && node.f === name) return true;
  return false;
}
