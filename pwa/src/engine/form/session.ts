/**
 * A form being filled: answers, the state of every item instance, and the checks the server will make
 * (backend/terrain/responses/validation.py). See ../README.md, "Form state".
 *
 * Expressions are re-evaluated only when a name they read changes: relevance and calculations are
 * propagated at once through a dependency graph built once per spec; the other expressions (required_if,
 * constraint, choice_filter, count) are cached per block and recomputed when read after a change.
 */

import { isEmpty, toBoolean, toNumber, toText, type Clock, type EvalContext, type Value } from "../expressions/index.js";
import { checkValue, isSha256, message, type MessageKey, type ShapeProblem } from "./check.js";
import { POSITION, buildModel, textIn, type Expr, type Field, type FormModel, type FormNode, type Labels, type Scope } from "./model.js";

const MAX_REPEAT_BLOCKS = 500;

export type Answers = Readonly<Record<string, Value>>;

/** A file answer: what the device knows of an attachment. */
export interface AttachmentRef {
  readonly sha256: string;
  readonly media_type: string;
  readonly size: number;
}

export interface FormOptions {
  /** The answers as the server expects them (a draft); without it the spec's defaults are filled in. */
  readonly answers?: Answers;
  /** Language of labels and messages; French is the fallback. */
  readonly lang: string;
  readonly clock: Clock;
  /** Interview guides: the audience interviewed (themes not offered to it do not apply). */
  readonly audience?: string | null;
  /** Attachments known to the device, to resolve file answers given as SHA-256. */
  readonly attachments?: readonly AttachmentRef[];
  /** Called at every expression evaluation (tests, profiling). */
  readonly onEvaluate?: (what: EvalKind, item: string, instance: string) => void;
}

export type EvalKind = "relevant" | "calculation" | "required_if" | "constraint" | "choice_filter" | "count";

/** A problem, as the server's validation reports it (`item` + `instance`) with the engine's path. */
export interface Problem {
  readonly code: string;
  readonly item: string;
  /** The server's block notation: "" at the top level, "membres.2", "membres.2/enfants.1". */
  readonly instance: string;
  /** The engine's path of the item (`membres[1].prenom`). */
  readonly path: string;
  readonly message: string;
}

export interface ItemError {
  readonly code: string;
  readonly message: string;
}

export interface ChoiceState {
  readonly value: string;
  readonly label: string;
}

export interface InstanceState {
  /** A stable id for the block while the session lives (a UI key). */
  readonly id: number;
  readonly index: number;
  readonly path: string;
}

export interface ItemState {
  readonly path: string;
  readonly name: string;
  readonly type: string;
  readonly kind: FormNode["kind"];
  readonly instance: string;
  readonly label: string;
  readonly hint: string | null;
  readonly visible: boolean;
  readonly required: boolean;
  readonly readOnly: boolean;
  /** The answer (a file answer: its AttachmentRef when known), or the calculated value. */
  readonly value: Value | AttachmentRef;
  readonly error: ItemError | null;
  /** Choice items: the choices offered after choice_filter (`other` included when allowed). */
  readonly choices?: readonly ChoiceState[];
  /** Groups, matrices, themes: the paths of their items. */
  readonly children?: readonly string[];
  /** Repeats. */
  readonly instances?: readonly InstanceState[];
  readonly min?: number | null;
  readonly max?: number | null;
  /** Repeats with a count: the number of blocks expected (null when the count is empty). */
  readonly expected?: number | null;
  readonly canAdd?: boolean;
  readonly canRemove?: boolean;
}

export interface Page {
  readonly id: string;
  /** A group's or theme's label; null for items outside groups. */
  readonly title: string | null;
  readonly visible: boolean;
  /** The paths of the page's top-level items. */
  readonly items: readonly string[];
}

export interface Dropped {
  readonly code: string;
  readonly item: string;
  readonly instance: string;
  readonly path: string;
}

export interface Validation {
  /** No problem: the server will accept the answers as they are. */
  readonly ok: boolean;
  /** The problems the server will report on `answers` (same codes, items and instances). */
  readonly problems: readonly Problem[];
  /** The answers to send: hidden answers left out, calculations included, empty values removed. */
  readonly answers: Answers;
  /** The record's attachments list for the file answers sent (`{sha256, media_type, size, item}`). */
  readonly attachments: readonly (AttachmentRef & { readonly item: string })[];
  /** Answers held but not sent: hidden (`not_relevant`) or unknown keys (`unknown_item`). */
  readonly dropped: readonly Dropped[];
}

export class FormError extends Error {
  constructor(
    readonly code: "unknown_path" | "read_only" | "not_a_repeat" | "repeat_max" | "repeat_min",
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = "FormError";
  }
}

interface Block {
  readonly id: number;
  readonly scope: Scope;
  readonly parent: Block | null;
  position: number | null;
  /** Answers as given (valid or not), by field name. */
  readonly raw: Map<string, Value>;
  /** Shape problems of raw answers. */
  readonly bad: Map<string, ShapeProblem>;
  /** What expressions read: valid answers of visible items and calculations. */
  readonly values: Map<string, Value>;
  readonly children: Map<string, Block[]>;
  /** Raw blocks past a repeat's limit: kept as they are, not read (as on the server). */
  readonly extra: Map<string, Value[]>;
  /** Repeat values that were not lists (a corrupted draft): kept out. */
  readonly unknown: Map<string, Value>;
  readonly rel: Map<string, boolean>;
  readonly vis: Map<string, boolean>;
  readonly cache: Map<string, Value | readonly string[]>;
}

/** What `${name}` reads from one block (see validation.py `_Env`). */
class Env extends Map<string, Value> {
  constructor(
    private readonly session: FormSession,
    private readonly block: Block,
  ) {
    super();
  }
  override get(name: string): Value {
    return this.session.read(this.block, name);
  }
}

interface Unit {
  readonly kind: "relevant" | "calculation";
  readonly node: FormNode;
  readonly expr: Expr;
}

function same(a: Value | undefined, b: Value | undefined): boolean {
  return a === b || JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** A device's calculated value the server reads as once()'s current value (validation.py `_plain_scalar`). */
function storedCalc(v: Value): boolean {
  if (typeof v === "string") return v.length > 0 && Array.from(v).length <= 255 && !v.includes("\u0000");
  return typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

function isObj(v: unknown): v is Readonly<Record<string, Value>> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function interpolate(text: string, env: Env): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_.]*)\}/g, (_m, name: string) => toText(env.get(name)));
}

/** Create a form session for a compiled spec. Throws `TreeError` for a corrupted spec. */
export function createForm(spec: unknown, options: FormOptions): FormSession {
  return new FormSession(buildModel(spec), options);
}

export class FormSession {
  readonly model: FormModel;
  readonly lang: string;
  readonly clock: Clock;
  readonly audience: string | null;
  /** How many expressions were evaluated since the session began (see `onEvaluate`). */
  evaluations = 0;
  private readonly onEvaluate: FormOptions["onEvaluate"];
  private readonly root: Block;
  private readonly attachments = new Map<string, AttachmentRef>();
  private nextId = 1;
  private readonly units: Unit[] = [];
  /** Calculations calling once(), written in drafts. */
  private readonly onceCalcs: FormNode[] = [];
  /** name -> indexes of the units reading it */
  private readonly readers = new Map<string, number[]>();
  private readonly unitOf = new Map<FormNode, number[]>();

  constructor(model: FormModel, options: FormOptions) {
    this.model = model;
    this.lang = options.lang;
    this.clock = options.clock;
    this.audience = options.audience ?? null;
    this.onEvaluate = options.onEvaluate;
    for (const a of options.attachments ?? []) this.attachments.set(a.sha256, a);
    this.buildUnits();
    this.root = this.newBlock(model.root, null, null);
    if (options.answers !== undefined) this.load(this.root, options.answers);
    else this.fillDefaults(this.root);
    const changed = new Set<string>();
    this.applyVisibility(this.root, model.root.nodes, true, changed, () => undefined);
    this.propagate(changed, this.units.map((_u, i) => i));
  }

  // --- dependency graph ---

  private buildUnits(): void {
    // calculations in the compiled order, each relevance before the calculations and relevances after it
    const rel: Unit[] = [];
    const visit = (nodes: readonly FormNode[]): void => {
      for (const node of nodes) {
        if (node.relevant !== null) rel.push({ kind: "relevant", node, expr: node.relevant });
        visit(node.children);
        if (node.scope !== null) visit(node.scope.nodes);
      }
    };
    visit(this.model.root.nodes);
    const calcs: Unit[] = [];
    for (const f of this.model.calculationOrder) {
      if (f.node.calculation !== null) calcs.push({ kind: "calculation", node: f.node, expr: f.node.calculation });
      if (f.node.calculation?.usesOnce === true) this.onceCalcs.push(f.node);
    }
    this.units.push(...rel, ...calcs);
    this.units.forEach((u, i) => {
      for (const name of u.expr.refs) {
        const list = this.readers.get(name) ?? [];
        list.push(i);
        this.readers.set(name, list);
      }
      const mine = this.unitOf.get(u.node) ?? [];
      mine.push(i);
      this.unitOf.set(u.node, mine);
    });
  }

  /** The names whose value a relevance of `node` controls (every field under it). */
  private fieldsUnder(node: FormNode, out: Set<string>): Set<string> {
    if (node.field !== null) out.add(node.name);
    for (const c of node.children) this.fieldsUnder(c, out);
    if (node.scope !== null) for (const c of node.scope.nodes) this.fieldsUnder(c, out);
    return out;
  }

  /**
   * Re-evaluate the relevance and calculation units that read a changed name, until nothing changes;
   * then drop the cached results of the other expressions reading a changed name.
   */
  private propagate(changed: Set<string>, start: readonly number[] = []): void {
    const pending = new Array<boolean>(this.units.length).fill(false);
    let i = this.units.length;
    const mark = (names: Iterable<string>): void => {
      for (const n of names) {
        changed.add(n);
        for (const j of this.readers.get(n) ?? []) {
          pending[j] = true;
          if (j < i) i = j;
        }
      }
    };
    for (const j of start) {
      pending[j] = true;
      if (j < i) i = j;
    }
    mark([...changed]);
    // a spec whose relevances depend on each other in a loop could flip forever: bounded
    let budget = this.units.length * 50 + 100;
    while (i < this.units.length && budget-- > 0) {
      if (!pending[i]) {
        i++;
        continue;
      }
      pending[i] = false;
      const unit = this.units[i];
      i++;
      if (unit === undefined) continue;
      const now = new Set<string>();
      for (const block of this.blocksOf(unit.node.home)) {
        if (unit.kind === "calculation") {
          // the stored value is the calculation's current value: what once() keeps
          const stored = block.values.get(unit.node.name) ?? null;
          const value = this.vis(block, unit.node) ? this.eval(unit.expr, block, "calculation", unit.node.name, stored) : null;
          if (!same(block.values.get(unit.node.name), value)) {
            block.values.set(unit.node.name, value);
            now.add(unit.node.name);
          }
        } else {
          const r = toBoolean(this.eval(unit.expr, block, "relevant", unit.node.name));
          if (block.rel.get(unit.node.name) !== r) {
            block.rel.set(unit.node.name, r);
            this.applyVisibility(block, [unit.node], this.parentVis(block, unit.node), now, (j) => {
              pending[j] = true;
              if (j < i) i = j;
            });
          }
        }
      }
      mark(now);
    }
    if (changed.size > 0) this.invalidate(this.root, changed);
  }

  private invalidate(block: Block, changed: ReadonlySet<string>): void {
    for (const key of [...block.cache.keys()]) {
      const node = this.model.nodes.get(key.slice(key.indexOf("|") + 1));
      const kind = key.slice(0, key.indexOf("|"));
      const expr =
        node === undefined
          ? null
          : kind === "required_if"
            ? node.requiredIf
            : kind === "constraint"
              ? node.constraint
              : kind === "choice_filter"
                ? node.choiceFilter
                : node.count;
      const own = kind === "constraint" && node !== undefined && changed.has(node.name);
      if (expr === null || own || expr.refs.some((r) => changed.has(r))) block.cache.delete(key);
    }
    for (const blocks of block.children.values()) for (const b of blocks) this.invalidate(b, changed);
  }

  /** Visibility of `nodes` in `block` (and everything under them), updating the values expressions read. */
  private applyVisibility(
    block: Block,
    nodes: readonly FormNode[],
    parentVisible: boolean,
    changed: Set<string>,
    schedule: (unit: number) => void,
  ): void {
    for (const node of nodes) {
      let v = parentVisible && block.rel.get(node.name) !== false;
      if (node.kind === "theme" && this.audience !== null) v = v && node.audiences?.has(this.audience) === true;
      const before = block.vis.get(node.name);
      block.vis.set(node.name, v);
      if (node.kind === "value") {
        const raw = block.raw.get(node.name);
        const value = v && raw !== undefined && !block.bad.has(node.name) && !isEmpty(raw) ? raw : null;
        if (!same(block.values.get(node.name) ?? null, value)) {
          if (value === null) block.values.delete(node.name);
          else block.values.set(node.name, value);
          changed.add(node.name);
        }
      } else if (node.kind === "calculate") {
        if (before !== v) for (const j of this.unitOf.get(node) ?? []) if (this.units[j]?.kind === "calculation") schedule(j);
      } else if (node.kind === "repeat" && node.scope !== null) {
        if (before !== v) changed.add(node.name);
        for (const child of block.children.get(node.name) ?? []) {
          this.applyVisibility(child, node.scope.nodes, v, changed, schedule);
        }
        // a field read from outside its repeat is the list of its values: hiding the repeat empties it
        if (before !== v) this.fieldsUnder(node, changed);
      } else {
        this.applyVisibility(block, node.children, v, changed, schedule);
      }
    }
  }

  /** Whether the container of `node` is visible in `block` (the repeat of a block's top nodes). */
  private parentVis(block: Block, node: FormNode): boolean {
    const container = this.containerOf(node);
    if (container !== null) return block.vis.get(container.name) !== false;
    const repeat = block.scope.repeat;
    if (repeat === null || block.parent === null) return true;
    return block.parent.vis.get(repeat.name) !== false;
  }

  private containers: Map<FormNode, FormNode | null> | null = null;

  private containerOf(node: FormNode): FormNode | null {
    if (this.containers === null) {
      const map = new Map<FormNode, FormNode | null>();
      const visit = (nodes: readonly FormNode[], parent: FormNode | null): void => {
        for (const n of nodes) {
          map.set(n, parent);
          visit(n.children, n);
          if (n.scope !== null) visit(n.scope.nodes, null);
        }
      };
      visit(this.model.root.nodes, null);
      this.containers = map;
    }
    return this.containers.get(node) ?? null;
  }

  private vis(block: Block, node: FormNode): boolean {
    return block.vis.get(node.name) ?? true;
  }

  // --- evaluation ---

  private ctx(block: Block): EvalContext {
    return {
      answers: new Env(this, block),
      position: block.position,
      clock: this.clock,
      choiceLabel: (list, value) => this.choiceLabel(list, value),
      choiceProperty: (list, value, prop) => this.choiceProperty(list, value, prop),
      repeatValues: (name) => this.read(block, name, true),
    };
  }

  /** choice-label(): the label of a choice of a named list in the session's language (French fallback). */
  private choiceLabel(list: string, value: string): string | null {
    const choice = this.model.lists.get(list)?.find((c) => c.value === value);
    return choice === undefined ? null : textIn(choice.label, this.lang);
  }

  /** choice-property(): a property (the choice's `filter`) of a choice of a named list, as text. */
  private choiceProperty(list: string, value: string, prop: string): string | null {
    const found = this.model.lists.get(list)?.find((c) => c.value === value)?.props.get(`choice.${prop}`);
    return found === undefined || found === null ? null : toText(found);
  }

  private eval(expr: Expr, block: Block, kind: EvalKind, item: string, current: Value = null): Value {
    this.evaluations++;
    this.onEvaluate?.(kind, item, this.instanceOf(block));
    return expr.fn({ ...this.ctx(block), current });
  }

  /**
   * `${name}` as the server reads it from `block` (own or enclosing level, else the list of values).
   * `wholeRepeat` (indexed-repeat): the list of a repeat field's values in every block of its repeat, from
   * inside that repeat too (within the enclosing block for a nested repeat), as validation.py `repeat_values`.
   */
  read(block: Block, name: string, wholeRepeat = false): Value {
    const f = this.model.fields.get(name);
    if (f === undefined) return null;
    const chain = f.chain;
    if (wholeRepeat && chain.length === 0) return null;
    const mine = block.scope.chain;
    const limit = wholeRepeat ? chain.length - 1 : chain.length;
    let common = 0;
    while (common < limit && common < mine.length && chain[common] === mine[common]) common++;
    let at: Block = block;
    for (let d = mine.length; d > common; d--) at = at.parent ?? at;
    if (common === chain.length) return at.values.get(name) ?? null;
    const out: Value[] = [];
    const collect = (b: Block, depth: number): void => {
      if (depth === chain.length) {
        out.push(b.values.get(name) ?? null);
        return;
      }
      const rname = chain[depth] ?? "";
      if (b.vis.get(rname) === false) return;
      for (const child of b.children.get(rname) ?? []) collect(child, depth + 1);
    };
    collect(at, common);
    return out;
  }

  private cached<T extends Value | readonly string[]>(block: Block, key: string, compute: () => T): T {
    if (block.cache.has(key)) return block.cache.get(key) as T;
    const v = compute();
    block.cache.set(key, v);
    return v;
  }

  private requiredNow(block: Block, node: FormNode): boolean {
    if (node.required) return true;
    const expr = node.requiredIf;
    if (expr === null) return false;
    return toBoolean(this.cached(block, `required_if|${node.name}`, () => this.eval(expr, block, "required_if", node.name)));
  }

  private constraintOk(block: Block, node: FormNode, value: Value): boolean {
    const expr = node.constraint;
    if (expr === null) return true;
    return toBoolean(
      this.cached(block, `constraint|${node.name}`, () => this.eval(expr, block, "constraint", node.name, value)),
    );
  }

  /** The values of a choice item's list that its choice_filter offers (all without a filter). */
  private allowed(block: Block, node: FormNode): readonly string[] {
    const f = node.field;
    if (f === null || f.choices === null) return [];
    const expr = node.choiceFilter;
    if (expr === null) return f.choices.map((c) => c.value);
    return this.cached(block, `choice_filter|${node.name}`, () => {
      const out: string[] = [];
      for (const c of f.choices ?? []) {
        if (f.other && c.value === "other") {
          out.push(c.value); // the added "other" choice has no filter properties
          continue;
        }
        this.evaluations++;
        this.onEvaluate?.("choice_filter", node.name, this.instanceOf(block));
        const ok = toBoolean(expr.fn({ ...this.ctx(block), choice: c.props }));
        if (ok) out.push(c.value);
      }
      return out;
    });
  }

  private expectedCount(block: Block, node: FormNode): number | null {
    const expr = node.count;
    if (expr === null) return null;
    const result = this.cached(block, `count|${node.name}`, () => this.eval(expr, block, "count", node.name));
    if (isEmpty(result) || Array.isArray(result) || isObj(result)) return null;
    const x = toNumber(result);
    if (!Number.isFinite(x)) return null;
    return Math.max(0, Math.min(Math.trunc(x), MAX_REPEAT_BLOCKS));
  }

  // --- blocks ---

  private newBlock(scope: Scope, parent: Block | null, position: number | null): Block {
    return {
      id: this.nextId++,
      scope,
      parent,
      position,
      raw: new Map(),
      bad: new Map(),
      values: new Map(),
      children: new Map(),
      extra: new Map(),
      unknown: new Map(),
      rel: new Map(),
      vis: new Map(),
      cache: new Map(),
    };
  }

  private limit(repeat: FormNode): number {
    return repeat.max !== null && repeat.max >= 0 ? Math.min(repeat.max, MAX_REPEAT_BLOCKS) : MAX_REPEAT_BLOCKS;
  }

  private load(block: Block, answers: Answers): void {
    const nodes = new Map<string, FormNode>();
    const index = (ns: readonly FormNode[]): void => {
      for (const n of ns) {
        if (n.field !== null || n.kind === "repeat") nodes.set(n.name, n);
        index(n.children);
      }
    };
    index(block.scope.nodes);
    for (const [key, value] of Object.entries(answers)) {
      const node = nodes.get(key);
      if (node === undefined) {
        block.unknown.set(key, value);
        continue;
      }
      if (value === null) continue;
      if (node.kind === "calculate") {
        // the engine computes calculations; a stored one is their current value (once() keeps it), as on the
        // server when well formed (validation.py `_plain_scalar`)
        if (storedCalc(value)) block.values.set(key, value);
        continue;
      }
      if (node.kind === "repeat" && node.scope !== null) {
        if (!Array.isArray(value)) {
          block.unknown.set(key, value);
          continue;
        }
        const list = value as readonly Value[];
        const limit = this.limit(node);
        const blocks: Block[] = [];
        list.slice(0, limit).forEach((b, i) => {
          const child = this.newBlock(node.scope as Scope, block, i + 1);
          this.load(child, isObj(b) ? b : {});
          blocks.push(child);
        });
        block.children.set(key, blocks);
        if (list.length > limit) block.extra.set(key, list.slice(limit));
        continue;
      }
      this.setRaw(block, node, value);
    }
  }

  private fillDefaults(block: Block): void {
    for (const f of this.model.fields.values()) {
      const d = f.node.item.default;
      if (f.node.home !== block.scope || f.kind === "calculate" || d === null || d === undefined) continue;
      this.setRaw(block, f.node, d as Value);
    }
  }

  private setRaw(block: Block, node: FormNode, value: Value): void {
    const f = node.field;
    if (f === null) return;
    let v = value;
    if (f.kind === "binary" && isObj(v) && typeof v.sha256 === "string") {
      const ref = v as unknown as AttachmentRef;
      this.attachments.set(ref.sha256, { sha256: ref.sha256, media_type: ref.media_type, size: ref.size });
      v = ref.sha256;
    }
    if (isEmpty(v)) {
      block.raw.delete(node.name);
      block.bad.delete(node.name);
      return;
    }
    block.raw.set(node.name, v);
    const problem = checkValue(f, v);
    if (problem !== null) block.bad.set(node.name, problem);
    else block.bad.delete(node.name);
  }

  private blocksOf(scope: Scope): Block[] {
    const out: Block[] = [];
    const visit = (b: Block): void => {
      if (b.scope === scope) {
        out.push(b);
        return;
      }
      for (const blocks of b.children.values()) for (const c of blocks) visit(c);
    };
    visit(this.root);
    return out;
  }

  // --- paths ---

  /** The server's block notation of a block ("membres.2/enfants.1"). */
  private instanceOf(block: Block): string {
    const parts: string[] = [];
    for (let b: Block = block; b.parent !== null; b = b.parent) {
      parts.unshift(`${b.scope.repeat?.name ?? ""}.${b.position ?? 0}`);
    }
    return parts.join("/");
  }

  private prefixOf(block: Block): string {
    const parts: string[] = [];
    for (let b: Block = block; b.parent !== null; b = b.parent) {
      parts.unshift(`${b.scope.repeat?.name ?? ""}[${(b.position ?? 1) - 1}]`);
    }
    return parts.length > 0 ? `${parts.join(".")}.` : "";
  }

  /** The block and node a path names (`membres[1].prenom`, `membres` for a repeat). */
  private locate(path: string): { block: Block; node: FormNode } {
    const parts = path.split(".");
    let block = this.root;
    for (let k = 0; k < parts.length - 1; k++) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$/.exec(parts[k] ?? "");
      const child = m !== null ? block.children.get(m[1] ?? "")?.[Number(m[2])] : undefined;
      if (child === undefined) throw new FormError("unknown_path", path);
      block = child;
    }
    const node = this.model.nodes.get(parts[parts.length - 1] ?? "");
    if (node?.home !== block.scope) throw new FormError("unknown_path", path);
    return { block, node };
  }

  // --- public API ---

  /** Set the answer of a field (`null`/`""`/`[]` clear it). A file answer takes an AttachmentRef. */
  set(path: string, value: Value | AttachmentRef): void {
    const { block, node } = this.locate(path);
    if (node.field === null) throw new FormError("unknown_path", `${path} takes no answer`);
    if (node.readOnly) throw new FormError("read_only", path);
    this.setRaw(block, node, value as Value);
    const changed = new Set<string>();
    this.applyVisibility(block, [node], this.parentVis(block, node), changed, () => undefined);
    // the value `.` of a constraint changed even when the expressions' view did not (an invalid answer)
    this.dropLeaves(block, node.name);
    this.propagate(changed);
  }

  private dropLeaves(block: Block, name: string): void {
    block.cache.delete(`constraint|${name}`);
  }

  /** Add a block at the end of a repeat (`membres`, `foyers[0].enfants`); returns its path. */
  addInstance(repeatPath: string): string {
    const { block, node } = this.locate(repeatPath);
    if (node.kind !== "repeat" || node.scope === null) throw new FormError("not_a_repeat", repeatPath);
    const blocks = block.children.get(node.name) ?? [];
    if (blocks.length >= this.limit(node)) throw new FormError("repeat_max", repeatPath);
    const child = this.newBlock(node.scope, block, blocks.length + 1);
    this.fillDefaults(child);
    block.children.set(node.name, [...blocks, child]);
    this.structural(block, node);
    return this.prefixOf(child).slice(0, -1);
  }

  /** Remove the block `index` (0-based) of a repeat; the following blocks move up. */
  removeInstance(repeatPath: string, index: number): void {
    const { block, node } = this.locate(repeatPath);
    if (node.kind !== "repeat") throw new FormError("not_a_repeat", repeatPath);
    const blocks = block.children.get(node.name) ?? [];
    if (index < 0 || index >= blocks.length) throw new FormError("unknown_path", `${repeatPath}[${index}]`);
    const rest = blocks.filter((_b, i) => i !== index);
    rest.forEach((b, i) => {
      b.position = i + 1;
    });
    block.children.set(node.name, rest);
    this.structural(block, node);
  }

  /** Add or remove empty trailing blocks so that a counted repeat has the expected number (when it can). */
  syncCount(repeatPath: string): void {
    const { block, node } = this.locate(repeatPath);
    const expected = this.expectedCount(block, node);
    if (expected === null) return;
    let blocks = block.children.get(node.name) ?? [];
    while (blocks.length < Math.min(expected, this.limit(node))) {
      this.addInstance(repeatPath);
      blocks = block.children.get(node.name) ?? [];
    }
    while (blocks.length > expected && (blocks[blocks.length - 1]?.raw.size ?? 1) === 0) {
      this.removeInstance(repeatPath, blocks.length - 1);
      blocks = block.children.get(node.name) ?? [];
    }
  }

  /** After blocks were added or removed: lists, positions and the new blocks' expressions. */
  private structural(block: Block, node: FormNode): void {
    for (const b of block.children.get(node.name) ?? []) {
      b.cache.clear();
      if (node.scope !== null) this.applyVisibility(b, node.scope.nodes, this.vis(block, node), new Set(), () => undefined);
    }
    const changed = this.fieldsUnder(node, new Set<string>([node.name, POSITION]));
    const start: number[] = [];
    this.units.forEach((u, i) => {
      if (node.scope !== null && this.scopeWithin(u.node.home, node.scope)) start.push(i);
    });
    this.propagate(changed, start);
  }

  private scopeWithin(scope: Scope, outer: Scope): boolean {
    return scope.chain.length >= outer.chain.length && outer.chain.every((n, i) => scope.chain[i] === n);
  }

  /** The state of one item instance. */
  item(path: string): ItemState {
    const { block, node } = this.locate(path);
    return this.stateOf(block, node);
  }

  /** Every item instance in document order (items of repeat blocks after their repeat). */
  state(): ItemState[] {
    const out: ItemState[] = [];
    const visit = (block: Block, nodes: readonly FormNode[]): void => {
      for (const node of nodes) {
        out.push(this.stateOf(block, node));
        visit(block, node.children);
        if (node.kind === "repeat" && node.scope !== null) {
          for (const child of block.children.get(node.name) ?? []) visit(child, node.scope.nodes);
        }
      }
    };
    visit(this.root, this.model.root.nodes);
    return out;
  }

  private text(labels: Labels | null, block: Block): string | null {
    const t = textIn(labels, this.lang);
    return t === null ? null : interpolate(t, new Env(this, block));
  }

  private stateOf(block: Block, node: FormNode): ItemState {
    const prefix = this.prefixOf(block);
    const path = `${prefix}${node.name}`;
    const visible = this.vis(block, node);
    const base = {
      path,
      name: node.name,
      type: node.type,
      kind: node.kind,
      instance: this.instanceOf(block),
      label: this.text(node.label, block) ?? node.name,
      hint: this.text(node.hint, block),
      visible,
      readOnly: node.readOnly,
    };
    if (node.kind === "repeat") {
      const blocks = block.children.get(node.name) ?? [];
      const limit = this.limit(node);
      const min = node.min;
      return {
        ...base,
        required: false,
        value: null,
        error: visible ? this.repeatError(block, node) : null,
        instances: blocks.map((b, i) => ({ id: b.id, index: i, path: `${prefix}${node.name}[${i}]` })),
        min,
        max: node.max,
        expected: this.expectedCount(block, node),
        canAdd: blocks.length < limit,
        canRemove: blocks.length > (min ?? 0),
      };
    }
    if (node.field === null) {
      return {
        ...base,
        required: false,
        value: null,
        error: null,
        ...(node.children.length > 0 ? { children: node.children.map((c) => `${prefix}${c.name}`) } : {}),
      };
    }
    const f = node.field;
    const raw = node.kind === "calculate" ? (block.values.get(node.name) ?? null) : (block.raw.get(node.name) ?? null);
    const value = f.kind === "binary" && typeof raw === "string" ? (this.attachments.get(raw) ?? raw) : raw;
    const state: ItemState = {
      ...base,
      required: node.kind === "value" && this.requiredNow(block, node),
      value,
      error: visible && node.kind === "value" ? this.fieldError(block, node) : null,
      ...(f.choices !== null ? { choices: this.choicesOf(block, node) } : {}),
    };
    return state;
  }

  private choicesOf(block: Block, node: FormNode): ChoiceState[] {
    const allowed = new Set(this.allowed(block, node));
    return (node.field?.choices ?? [])
      .filter((c) => allowed.has(c.value))
      .map((c) => ({ value: c.value, label: this.text(c.label, block) ?? c.value }));
  }

  private custom(labels: Labels | null, block: Block, fallback: MessageKey): string {
    return this.text(labels, block) ?? message(fallback, this.lang);
  }

  /** The first problem of a visible field (the server's order: shape, required, constraint, filter). */
  private fieldErrors(block: Block, node: FormNode): ItemError[] {
    const f = node.field;
    if (f === null) return [];
    const bad = block.bad.get(node.name);
    if (bad !== undefined) {
      return [{ code: bad.code, message: message(bad.message, this.lang, { max: f.kind === "text" ? 4000 : 200000 }) }];
    }
    const value = block.values.get(node.name) ?? null;
    if (value === null) {
      if (this.requiredNow(block, node)) {
        return [{ code: "required", message: this.custom(node.requiredMessage, block, "required") }];
      }
      return [];
    }
    if (f.kind === "binary" && typeof value === "string" && !this.attachments.has(value)) {
      return [{ code: "attachment_missing_ref", message: message("attachment_missing_ref", this.lang) }];
    }
    const out: ItemError[] = [];
    if (!this.constraintOk(block, node, value)) {
      out.push({ code: "constraint", message: this.custom(node.constraintMessage, block, "constraint") });
    }
    if (node.choiceFilter !== null) {
      const allowed = new Set(this.allowed(block, node));
      for (const v of Array.isArray(value) ? (value as readonly Value[]) : [value]) {
        if (!allowed.has(typeof v === "string" ? v : JSON.stringify(v))) out.push({ code: "choice", message: message("filtered", this.lang) });
      }
    }
    return out;
  }

  private fieldError(block: Block, node: FormNode): ItemError | null {
    return this.fieldErrors(block, node)[0] ?? null;
  }

  private repeatErrors(block: Block, node: FormNode): ItemError[] {
    if (block.unknown.has(node.name)) return [];
    const count = (block.children.get(node.name)?.length ?? 0) + (block.extra.get(node.name)?.length ?? 0);
    const out: ItemError[] = [];
    if (node.min !== null && count < node.min) {
      out.push({ code: "repeat_min", message: message("repeat_min", this.lang, { min: node.min }) });
    }
    const max = node.max ?? MAX_REPEAT_BLOCKS;
    if (count > max) out.push({ code: "repeat_max", message: message("repeat_max", this.lang, { max }) });
    const expected = this.expectedCount(block, node);
    if (expected !== null && expected !== count) {
      out.push({ code: "repeat_count", message: message("repeat_count", this.lang, { expected }) });
    }
    return out;
  }

  private repeatError(block: Block, node: FormNode): ItemError | null {
    return this.repeatErrors(block, node)[0] ?? null;
  }

  /** Pages: top-level groups, the items between them, or a guide's themes (those offered to the audience). */
  pages(): Page[] {
    const out: Page[] = [];
    let loose: string[] = [];
    const flush = (): void => {
      if (loose.length === 0) return;
      const items = loose;
      out.push({
        id: `page_${out.length + 1}`,
        title: null,
        visible: items.some((p) => this.item(p).visible),
        items,
      });
      loose = [];
    };
    for (const node of this.model.root.nodes) {
      if (node.kind === "group" || node.kind === "theme") {
        flush();
        if (node.kind === "theme" && !this.vis(this.root, node)) continue;
        out.push({
          id: node.name,
          title: this.text(node.label, this.root),
          visible: this.vis(this.root, node),
          items: node.children.map((c) => c.name),
        });
      } else {
        loose.push(node.name);
      }
    }
    flush();
    return out;
  }

  /** A label of the spec (or anything with `{fr, en…}`) in the session's language, `${…}` filled. */
  label(labels: Labels | null | undefined): string | null {
    return this.text(labels ?? null, this.root);
  }

  /** An observation log's entry title, `${…}` filled. */
  entryTitle(): string | null {
    return this.text(this.model.entryTitle, this.root);
  }

  /** The answers to send (see `validateAll`). */
  /** Every answer held, hidden ones included, in the server's shape (repeats as lists of blocks): what
   * a draft saves, so that a hidden answer comes back after a reload when its item shows again. */
  draft(): Answers {
    const dump = (block: Block): Record<string, Value> => {
      const out: Record<string, Value> = {};
      for (const [name, value] of block.raw) {
        if (value !== null && value !== "" && !(Array.isArray(value) && value.length === 0)) out[name] = value;
      }
      // a calculation calling once(): its first value must survive the reload
      for (const node of this.onceCalcs) {
        const value = node.home === block.scope ? block.values.get(node.name) : undefined;
        if (value !== undefined && storedCalc(value)) out[node.name] = value;
      }
      for (const [name, blocks] of block.children) out[name] = blocks.map(dump);
      return out;
    };
    return dump(this.root);
  }

  answers(): Answers {
    return this.validateAll().answers;
  }

  /** Check the whole response as the server will, and give the answers to send. */
  validateAll(): Validation {
    const problems: Problem[] = [];
    const dropped: Dropped[] = [];
    const attachments: (AttachmentRef & { item: string })[] = [];
    const walkBlock = (block: Block): Record<string, Value> => {
      const out: Record<string, Value> = {};
      const instance = this.instanceOf(block);
      const prefix = this.prefixOf(block);
      for (const key of block.unknown.keys()) {
        dropped.push({ code: "unknown_item", item: key, instance, path: `${prefix}${key}` });
      }
      const walk = (nodes: readonly FormNode[]): void => {
        for (const node of nodes) {
          const visible = this.vis(block, node);
          const path = `${prefix}${node.name}`;
          const add = (e: ItemError): void => {
            problems.push({ code: e.code, item: node.name, instance, path, message: e.message });
          };
          if (node.kind === "value") {
            const raw = block.raw.get(node.name);
            const bad = block.bad.get(node.name);
            if (!visible && raw !== undefined && bad !== undefined) {
              // as on the server, a malformed answer is reported (and kept) whether or not its item applies
              add({ code: bad.code, message: message(bad.message, this.lang) });
              out[node.name] = raw;
              continue;
            }
            if (!visible) {
              if (raw !== undefined) dropped.push({ code: "not_relevant", item: node.name, instance, path });
              continue;
            }
            this.fieldErrors(block, node).forEach(add);
            if (raw !== undefined) {
              out[node.name] = raw;
              const ref = node.field?.kind === "binary" && typeof raw === "string" ? this.attachments.get(raw) : undefined;
              if (ref !== undefined && isSha256(raw)) attachments.push({ ...ref, item: node.name });
            }
          } else if (node.kind === "calculate") {
            const v = block.values.get(node.name) ?? null;
            if (!isEmpty(v)) out[node.name] = v;
          } else if (node.kind === "repeat") {
            const blocks = block.children.get(node.name) ?? [];
            const extra = block.extra.get(node.name) ?? [];
            if (!visible) {
              if (blocks.length + extra.length > 0) dropped.push({ code: "not_relevant", item: node.name, instance, path });
              continue;
            }
            this.repeatErrors(block, node).forEach(add);
            const list: Value[] = blocks.map((b) => walkBlock(b));
            if (list.length + extra.length > 0) out[node.name] = [...list, ...extra];
          } else if (visible) {
            walk(node.children);
          } else {
            // a hidden group, matrix or theme: its answers are not sent
            const hidden = (ns: readonly FormNode[]): void => {
              for (const n of ns) {
                if (n.kind === "value" && block.raw.has(n.name)) {
                  dropped.push({ code: "not_relevant", item: n.name, instance, path: `${prefix}${n.name}` });
                }
                if (n.kind === "repeat" && (block.children.get(n.name)?.length ?? 0) > 0) {
                  dropped.push({ code: "not_relevant", item: n.name, instance, path: `${prefix}${n.name}` });
                }
                hidden(n.children);
              }
            };
            hidden(node.children);
          }
        }
      };
      walk(block.scope.nodes);
      return out;
    };
    const answers = walkBlock(this.root);
    return { ok: problems.length === 0, problems, answers, attachments, dropped };
  }
}

export type { Field, FormModel, FormNode, Labels, Scope };
