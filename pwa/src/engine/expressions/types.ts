/** Types shared by the expression engine. See ../README.md for the contract. */

/** A JSON value, as answers are stored and as results are returned. Empty is `null`, `""` or `[]`. */
export type Value = null | boolean | number | string | readonly Value[] | { readonly [key: string]: Value };

/** Binary operators of the trees (docs/architecture.md, "Expression trees"). */
export type BinaryOp = "+" | "-" | "*" | "div" | "mod" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or";

/** A compiled expression tree, as the server publishes it in a compiled spec. */
export type Tree =
  | { readonly t: "num"; readonly v: number }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "ref"; readonly n: string }
  | { readonly t: "cur" }
  | { readonly t: "neg"; readonly e: Tree }
  | { readonly t: "bin"; readonly op: BinaryOp; readonly l: Tree; readonly r: Tree }
  | { readonly t: "call"; readonly f: string; readonly a: readonly Tree[] };

/** The instant `today()` and `now()` read, and the IANA time zone they read it in. */
export interface Clock {
  /** Milliseconds since 1970-01-01T00:00Z. */
  readonly instant: number;
  /** An IANA zone name (`Europe/Paris`, `UTC`): the device's own zone on a device. */
  readonly timeZone: string;
}

/** Answers by field name: a plain object (own properties only) or a Map. */
export type Answers = ReadonlyMap<string, Value | undefined> | { readonly [name: string]: Value | undefined };

/** What an expression sees. */
export interface EvalContext {
  /** `${name}` reads `answers[name]`; a missing name is empty. */
  readonly answers: Answers;
  /** The value `.` (the value a constraint checks; for a calculation its stored answer, which `once()` keeps). */
  readonly current?: Value | undefined;
  /** `position(..)`: the 1-based block number of the enclosing repeat; default empty (outside repeats). */
  readonly position?: number | null | undefined;
  /** The clock of `today()` and `now()`. */
  readonly clock: Clock;
  /**
   * While a `choice_filter` runs for one choice: its properties keyed `choice.value`, `choice.<prop>`
   * (see `choiceProperties`). When set, every `${choice.…}` name reads this map only (missing: empty).
   */
  readonly choice?: ReadonlyMap<string, Value> | undefined;
  /**
   * `choice-label(value, 'list')`: the label of the choice `value` of the choice list `list` in the form's
   * current language; null (or no hook): `''`.
   */
  readonly choiceLabel?: ((list: string, value: string) => string | null) | undefined;
  /**
   * `choice-property(value, 'list', 'prop')`: the property `prop` (a column of the choices sheet, the
   * choice's `filter`) of the choice `value` of the list `list`; null (or no hook): `''`.
   */
  readonly choiceProperty?: ((list: string, value: string, prop: string) => string | null) | undefined;
  /**
   * `indexed-repeat(${f}, ${repeat}, n)`: the values of field `f` in every block of its repeat (inside the
   * current enclosing block for a nested repeat). Without it, `answers[f]` (that list from outside the repeat).
   */
  readonly repeatValues?: ((name: string) => Value) | undefined;
}
