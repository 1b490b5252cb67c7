/**
 * regex(): the portable pattern subset (docs/expressions.md, "regex") translated to a JavaScript RegExp that
 * matches exactly what Python's `re` (flags: ASCII, search semantics) matches.
 *
 * The pattern is parsed the way Python's `re._parser` parses it (same accepted syntax, same errors), and
 * re-emitted with the `u` flag, every literal escaped, so no JavaScript-only syntax can slip through:
 * - `.` is `[^\n]` (JavaScript's `.` also excludes `\r`, U+2028, U+2029);
 * - `\s`/`\S` are Python's ASCII `[ \t\n\r\f\v]` (JavaScript's are Unicode); `\d \w \b` are ASCII in both;
 * - `$` is the very end of the text (Python's evaluator rewrites it to `\Z`; JavaScript's `$` without the `m`
 *   flag is that already);
 * - `\B` fails on an empty text and inside a surrogate pair, as in Python;
 * - every group becomes non-capturing (back-references are outside the subset, so captures are unobservable);
 * - a possessive quantifier `X*+` (Python 3.11+) becomes the atomic `(?=(?<pN>X*))\k<pN>`.
 */

/** Constructs outside the subset, checked on the text as Python's `check_pattern` does (same order). */
const FORBIDDEN: readonly (readonly [RegExp, string])[] = [
  [/\(\?(?!:)/, "only (?:...) groups are allowed (no lookaround, named groups or flags)"],
  [/\\[1-9]/, "back-references are not allowed"],
  [/\\[AZzGpPNuUx]/, "escape not portable between evaluators"],
  [/\[\[/, "nested character classes are not allowed"],
  [/\[\^?\]/, "a character class cannot start with ]"],
];

/** Python's MAXREPEAT: a repeat count must stay below it. */
const MAX_REPEAT = 4_294_967_295;
/** Groups nested deeper are refused (Python's own parser stops at its recursion limit, near 450). */
const MAX_NESTING = 400;

const ASCII_SPACE = "\\t\\n\\v\\f\\r ";
const ASCII_LETTERS = /^[A-Za-z]$/;
const OCTAL = "01234567";
const DIGITS = "0123456789";

class PatternError extends Error {}

/** One item of a sequence: an assertion cannot be repeated, a repeat cannot be repeated again. */
interface Item {
  readonly kind: "atom" | "at" | "repeat";
  readonly js: string;
}

/** An element of a character class. */
type SetItem =
  | { readonly kind: "lit"; readonly cp: number }
  | { readonly kind: "range"; readonly lo: number; readonly hi: number }
  | { readonly kind: "cat"; readonly name: "d" | "D" | "w" | "W" | "s" | "S" };

function lit(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /^[A-Za-z0-9_]$/.test(ch) ? ch : `\\u{${cp.toString(16)}}`;
}

const ESCAPES: Readonly<Record<string, number>> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92 };

function cp(ch: string): number {
  return ch.codePointAt(0) ?? 0;
}

class Parser {
  private pos = 0;
  private possessive = 0;

  constructor(private readonly tokens: readonly string[]) {}

  private get next(): string | undefined {
    return this.tokens[this.pos];
  }

  private get(): string | undefined {
    const tok = this.tokens[this.pos];
    if (tok !== undefined) this.pos++;
    return tok;
  }

  private match(tok: string): boolean {
    if (this.next !== tok) return false;
    this.pos++;
    return true;
  }

  pattern(): string {
    const js = this.alternation(0);
    if (this.next !== undefined) throw new PatternError("unbalanced parenthesis");
    return js;
  }

  private alternation(depth: number): string {
    const branches = [this.sequence(depth)];
    while (this.match("|")) branches.push(this.sequence(depth));
    return branches.join("|");
  }

  private sequence(depth: number): string {
    const items: Item[] = [];
    for (;;) {
      const tok = this.next;
      if (tok === undefined || tok === "|" || tok === ")") break;
      this.pos++;
      if (tok.startsWith("\\")) items.push(this.escape(tok));
      else if (tok === "[") items.push({ kind: "atom", js: this.set() });
      else if (tok === "*" || tok === "+" || tok === "?" || tok === "{") this.repeat(tok, items);
      else if (tok === ".") items.push({ kind: "atom", js: "[^\\n]" });
      else if (tok === "(") items.push({ kind: "atom", js: this.group(depth) });
      else if (tok === "^" || tok === "$") items.push({ kind: "at", js: tok });
      else items.push({ kind: "atom", js: lit(cp(tok)) });
    }
    return items.map((item) => item.js).join("");
  }

  private group(depth: number): string {
    if (this.match("?")) {
      const c = this.get();
      if (c !== ":") throw new PatternError("unknown extension"); // refused by FORBIDDEN already
    }
    if (depth + 1 > MAX_NESTING) throw new PatternError("too deeply nested");
    const inner = this.alternation(depth + 1);
    if (!this.match(")")) throw new PatternError("missing ), unterminated subpattern");
    return `(?:${inner})`;
  }

  /** Octal digits following `\0` (at most 2 more, as Python reads them). */
  private octal(first: string): number {
    let digits = first;
    while (digits.length < 3 && this.next !== undefined && this.next.length === 1 && OCTAL.includes(this.next)) {
      digits += this.get() ?? "";
    }
    return parseInt(digits, 8);
  }

  private escape(tok: string): Item {
    const c = tok.slice(1);
    switch (c) {
      case "b":
        return { kind: "at", js: tok };
      case "B":
        // Python's \B never matches in an empty text, and V8 finds a \B between the two halves of a
        // surrogate pair (/\B/u.exec("0😀_") is at 2): only at the start or after a whole code point.
        return { kind: "at", js: "(?!^$)(?<=^|[^])\\B" };
      case "d":
      case "D":
      case "w":
      case "W":
        return { kind: "atom", js: tok };
      case "s":
        return { kind: "atom", js: `[${ASCII_SPACE}]` };
      case "S":
        return { kind: "atom", js: `[^${ASCII_SPACE}]` };
      default:
        break;
    }
    const code = ESCAPES[c];
    if (code !== undefined) return { kind: "atom", js: lit(code) };
    if (c === "0") return { kind: "atom", js: lit(this.octal(c)) };
    if (DIGITS.includes(c) || ASCII_LETTERS.test(c)) throw new PatternError(`bad escape ${tok}`);
    return { kind: "atom", js: lit(cp(c)) };
  }

  private classEscape(tok: string): SetItem {
    const c = tok.slice(1);
    if (c === "b") return { kind: "lit", cp: 8 }; // backspace inside a class
    const code = ESCAPES[c];
    if (code !== undefined) return { kind: "lit", cp: code };
    if (c === "d" || c === "D" || c === "w" || c === "W" || c === "s" || c === "S") return { kind: "cat", name: c };
    if (c.length === 1 && OCTAL.includes(c)) {
      const value = this.octal(c);
      if (value > 0o377) throw new PatternError("octal escape value outside of range 0-0o377");
      return { kind: "lit", cp: value };
    }
    if (DIGITS.includes(c) || ASCII_LETTERS.test(c)) throw new PatternError(`bad escape ${tok}`);
    return { kind: "lit", cp: cp(c) };
  }

  private set(): string {
    const negate = this.match("^");
    const items: SetItem[] = [];
    for (;;) {
      const tok = this.get();
      if (tok === undefined) throw new PatternError("unterminated character set");
      if (tok === "]" && items.length > 0) break;
      const code1: SetItem = tok.startsWith("\\") ? this.classEscape(tok) : { kind: "lit", cp: cp(tok) };
      if (this.match("-")) {
        const that = this.get();
        if (that === undefined) throw new PatternError("unterminated character set");
        if (that === "]") {
          items.push(code1, { kind: "lit", cp: 45 });
          break;
        }
        const code2: SetItem = that.startsWith("\\") ? this.classEscape(that) : { kind: "lit", cp: cp(that) };
        if (code1.kind !== "lit" || code2.kind !== "lit" || code2.cp < code1.cp) {
          throw new PatternError("bad character range");
        }
        items.push({ kind: "range", lo: code1.cp, hi: code2.cp });
      } else {
        items.push(code1);
      }
    }
    let notSpace = false;
    let rest = "";
    for (const item of items) {
      if (item.kind === "lit") rest += lit(item.cp);
      else if (item.kind === "range") rest += `${lit(item.lo)}-${lit(item.hi)}`;
      else if (item.name === "s") rest += ASCII_SPACE;
      else if (item.name === "S") notSpace = true;
      else rest += `\\${item.name}`;
    }
    if (!notSpace) return negate ? `[^${rest}]` : `[${rest}]`;
    // JavaScript's \S is not ASCII: write "not an ASCII space" out.
    if (negate) return rest ? `(?:(?![${rest}])[${ASCII_SPACE}])` : `[${ASCII_SPACE}]`;
    return rest ? `(?:[${rest}]|[^${ASCII_SPACE}])` : `[^${ASCII_SPACE}]`;
  }

  private repeat(tok: string, items: Item[]): void {
    let min = 0;
    let max = Infinity;
    if (tok === "?") max = 1;
    else if (tok === "+") min = 1;
    else if (tok === "{") {
      const here = this.pos;
      if (this.next === "}") {
        items.push({ kind: "atom", js: lit(123) });
        return;
      }
      let lo = "";
      let hi = "";
      while (this.next !== undefined && this.next.length === 1 && DIGITS.includes(this.next)) lo += this.get() ?? "";
      if (this.match(",")) {
        while (this.next !== undefined && this.next.length === 1 && DIGITS.includes(this.next)) hi += this.get() ?? "";
      } else {
        hi = lo;
      }
      if (!this.match("}")) {
        // Not a quantifier: a literal "{", and the rest is read again.
        items.push({ kind: "atom", js: lit(123) });
        this.pos = here;
        return;
      }
      if (lo) {
        min = Number(lo);
        if (min >= MAX_REPEAT) throw new PatternError("the repetition number is too large");
      }
      if (hi) {
        max = Number(hi);
        if (max >= MAX_REPEAT) throw new PatternError("the repetition number is too large");
        if (max < min) throw new PatternError("min repeat greater than max repeat");
      }
    }
    const item = items.at(-1);
    if (item === undefined || item.kind === "at") throw new PatternError("nothing to repeat");
    if (item.kind === "repeat") throw new PatternError("multiple repeat");
    let q: string;
    if (max === Infinity) q = min === 0 ? "*" : min === 1 ? "+" : `{${min},}`;
    else if (min === 0 && max === 1) q = "?";
    else q = min === max ? `{${min}}` : `{${min},${max}}`;
    let js: string;
    if (this.match("?")) {
      js = `${item.js}${q}?`;
    } else if (this.match("+")) {
      const name = `p${this.possessive++}`;
      js = `(?=(?<${name}>${item.js}${q}))\\k<${name}>`;
    } else {
      js = `${item.js}${q}`;
    }
    items[items.length - 1] = { kind: "repeat", js };
  }
}

function tokenize(pattern: string): string[] {
  const chars = Array.from(pattern);
  const tokens: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? "";
    if (c === "\\") {
      const escaped = chars[i + 1];
      if (escaped === undefined) throw new PatternError("bad escape (end of pattern)");
      tokens.push(c + escaped);
      i++;
    } else {
      tokens.push(c);
    }
  }
  return tokens;
}

/** The JavaScript source (flag `u`) of a pattern of the subset, or a reason why it is not one. */
export function translatePattern(pattern: string): { source: string } | { reason: string } {
  const bare = pattern.split("\\\\").join("");
  for (const [rx, reason] of FORBIDDEN) {
    if (rx.test(bare)) return { reason };
  }
  try {
    return { source: new Parser(tokenize(pattern)).pattern() };
  } catch (err) {
    if (err instanceof PatternError) return { reason: err.message };
    throw err;
  }
}

const cache = new Map<string, RegExp | null>();
const CACHE_MAX = 512;

/** The compiled pattern, or null when it is not in the subset (regex() is then false). Cached. */
export function compilePattern(pattern: string): RegExp | null {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  const translated = translatePattern(pattern);
  let rx: RegExp | null = null;
  if ("source" in translated) {
    try {
      rx = new RegExp(translated.source, "u");
    } catch {
      rx = null; // a pattern JavaScript cannot hold (e.g. too large): no match, as an invalid one
    }
  }
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(pattern, rx);
  return rx;
}

/** regex(text, pattern): search semantics; false for a pattern outside the subset. */
export function regexSearch(text: string, pattern: string): boolean {
  const rx = compilePattern(pattern);
  return rx !== null && rx.test(text);
}
