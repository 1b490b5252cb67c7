/**
 * The form model of a compiled spec: its nodes in document order, its fields (answer keys), its scopes
 * (top level, repeat blocks) and its expressions with the names they read. Built once per spec, mirroring
 * `SpecIndex` of backend/terrain/responses/values.py (matrix rows, theme fields, `other` lists included).
 */

import { compileTree, references, usesFunction, type Compiled, type Tree, type Value } from "../expressions/index.js";

export type Labels = Readonly<Record<string, string>>;

/** How an answer is checked (values.py KINDS). */
export type FieldKind =
  | "text"
  | "long_text"
  | "integer"
  | "decimal"
  | "single_choice"
  | "likert"
  | "multiple_choice"
  | "ranking"
  | "date"
  | "time"
  | "datetime"
  | "geopoint"
  | "binary"
  | "consent"
  | "calculate";

const KINDS: Readonly<Record<string, FieldKind>> = {
  text: "text",
  long_text: "long_text",
  integer: "integer",
  decimal: "decimal",
  single_choice: "single_choice",
  yes_no: "single_choice",
  likert: "likert",
  multiple_choice: "multiple_choice",
  ranking: "ranking",
  date: "date",
  time: "time",
  datetime: "datetime",
  geopoint: "geopoint",
  photo: "binary",
  audio: "binary",
  file: "binary",
  signature: "binary",
  consent: "consent",
  calculate: "calculate",
};

export type NodeKind = "value" | "calculate" | "note" | "group" | "matrix" | "repeat" | "theme";

/** A choice as the engine offers it. */
export interface ChoiceDef {
  readonly value: string;
  readonly label: Labels;
  readonly props: ReadonlyMap<string, Value>;
}

/** An expression of the spec: its closure and the names it reads (`#position` for position(..)). */
export interface Expr {
  readonly fn: Compiled;
  readonly src: string;
  readonly refs: readonly string[];
  readonly timeDependent: boolean;
  /** Calls once(): its value is kept in drafts (it is the value once() keeps after a reload). */
  readonly usesOnce: boolean;
}

export interface FormNode {
  readonly kind: NodeKind;
  readonly name: string;
  /** The item's type as compiled (`single_choice` for matrix rows, `theme` for themes). */
  readonly type: string;
  readonly item: Readonly<Record<string, unknown>>;
  readonly label: Labels;
  readonly hint: Labels | null;
  readonly relevant: Expr | null;
  readonly required: boolean;
  readonly requiredIf: Expr | null;
  readonly requiredMessage: Labels | null;
  readonly constraint: Expr | null;
  readonly constraintMessage: Labels | null;
  readonly choiceFilter: Expr | null;
  readonly calculation: Expr | null;
  readonly count: Expr | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly readOnly: boolean;
  readonly children: FormNode[];
  /** The scope of a repeat's blocks. */
  scope: Scope | null;
  /** The answer key of a value or calculation. */
  field: Field | null;
  /** Themes: the audiences it is offered to. */
  audiences: ReadonlySet<string> | null;
  /** The scope the node sits in. */
  readonly home: Scope;
}

export interface Field {
  readonly name: string;
  readonly type: string;
  readonly kind: FieldKind;
  /** Names of the enclosing repeats, outermost first. */
  readonly chain: readonly string[];
  readonly choices: readonly ChoiceDef[] | null;
  readonly choiceSet: ReadonlySet<string> | null;
  readonly other: boolean;
  readonly sensitive: boolean;
  readonly node: FormNode;
}

export interface Scope {
  readonly chain: readonly string[];
  readonly key: string;
  nodes: FormNode[];
  readonly repeat: FormNode | null;
}

export interface FormModel {
  readonly spec: Readonly<Record<string, unknown>>;
  readonly kind: string;
  readonly root: Scope;
  readonly scopes: ReadonlyMap<string, Scope>;
  readonly fields: ReadonlyMap<string, Field>;
  /** Every node by name (groups, notes, repeats, themes, matrices included). */
  readonly nodes: ReadonlyMap<string, FormNode>;
  readonly repeats: ReadonlyMap<string, FormNode>;
  readonly audiences: readonly { readonly name: string; readonly label: Labels }[];
  readonly calculationOrder: readonly Field[];
  readonly title: Labels;
  readonly entryTitle: Labels | null;
  /** The spec's named choice lists (what `choice-label(value, 'list')` reads). */
  readonly lists: ReadonlyMap<string, readonly ChoiceDef[]>;
}

type Json = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function labelsOf(v: unknown): Labels | null {
  if (typeof v === "string") return { fr: v };
  if (!isObj(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, t] of Object.entries(v)) if (typeof t === "string") out[k] = t;
  return typeof out.fr === "string" ? out : null;
}

/** Position-dependent expressions read this pseudo-name: adding or removing a block changes it. */
export const POSITION = "#position";

function exprOf(v: unknown): Expr | null {
  if (!isObj(v) || !isObj(v.ast)) return null;
  const tree = v.ast as unknown as Tree;
  const fn = compileTree(tree);
  const refs = references(tree).filter((n) => !n.startsWith("choice."));
  if (usesFunction(tree, "position")) refs.push(POSITION);
  return {
    fn,
    src: typeof v.src === "string" ? v.src : "",
    refs,
    timeDependent: usesFunction(tree, "today") || usesFunction(tree, "now"),
    usesOnce: usesFunction(tree, "once"),
  };
}

function optInt(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

function chainKey(chain: readonly string[]): string {
  return chain.join("/");
}

/** Build the model of a compiled spec. Throws `TreeError` for a corrupted tree. */
export function buildModel(spec: unknown): FormModel {
  if (!isObj(spec) || !Array.isArray(spec.items)) throw new TypeError("not a compiled spec");
  const lists = new Map<string, ChoiceDef[]>();
  if (isObj(spec.choice_lists)) {
    for (const [name, values] of Object.entries(spec.choice_lists)) {
      const defs: ChoiceDef[] = [];
      for (const c of Array.isArray(values) ? (values as unknown[]) : []) {
        if (!isObj(c) || typeof c.value !== "string") continue;
        const props = new Map<string, Value>([["choice.value", c.value]]);
        if (isObj(c.filter)) for (const [k, p] of Object.entries(c.filter)) props.set(`choice.${k}`, p as Value);
        defs.push({ value: c.value, label: labelsOf(c.label) ?? { fr: c.value }, props });
      }
      lists.set(name, defs);
    }
  }
  const scopes = new Map<string, Scope>();
  const fields = new Map<string, Field>();
  const nodes = new Map<string, FormNode>();
  const repeats = new Map<string, FormNode>();
  const root: Scope = { chain: [], key: "", nodes: [], repeat: null };
  scopes.set("", root);

  function makeNode(kind: NodeKind, name: string, type: string, item: Json, home: Scope): FormNode {
    const node: FormNode = {
      kind,
      name,
      type,
      item,
      label: labelsOf(item.label ?? item.title) ?? { fr: name },
      hint: labelsOf(item.hint),
      relevant: exprOf(item.relevant),
      required: item.required === true,
      requiredIf: exprOf(item.required_if),
      requiredMessage: labelsOf(item.required_message),
      constraint: exprOf(item.constraint),
      constraintMessage: labelsOf(item.constraint_message),
      choiceFilter: exprOf(item.choice_filter),
      calculation: kind === "calculate" ? exprOf(item.calculation) : null,
      count: exprOf(item.count),
      min: optInt(item.min),
      max: optInt(item.max),
      readOnly: item.read_only === true || kind === "calculate",
      children: [],
      scope: null,
      field: null,
      audiences: null,
      home,
    };
    nodes.set(name, node);
    return node;
  }

  function makeField(node: FormNode, scope: Scope): Field {
    const item = node.item;
    let listName = typeof item.choice_list === "string" ? item.choice_list : null;
    if (node.type === "yes_no" && listName === null) listName = "yes_no";
    const kind = KINDS[node.type] ?? "text";
    let choices: ChoiceDef[] | null = listName !== null ? (lists.get(listName) ?? null) : null;
    if (choices === null && node.type === "yes_no") {
      choices = ["yes", "no"].map((v) => ({ value: v, label: { fr: v }, props: new Map([["choice.value", v]]) }));
    }
    if (choices === null && ["single_choice", "likert", "multiple_choice", "ranking"].includes(kind)) choices = [];
    const field: Field = {
      name: node.name,
      type: node.type,
      kind,
      chain: scope.chain,
      choices,
      choiceSet: choices !== null ? new Set(choices.map((c) => c.value)) : null,
      other: item.other === true,
      sensitive: item.sensitive === true,
      node,
    };
    node.field = field;
    fields.set(node.name, field);
    return field;
  }

  function build(items: unknown, scope: Scope): FormNode[] {
    const out: FormNode[] = [];
    for (const item of Array.isArray(items) ? (items as unknown[]) : []) {
      if (!isObj(item) || typeof item.name !== "string") continue;
      const name = item.name;
      const type = String(item.type);
      let node: FormNode;
      if (type === "group") {
        node = makeNode("group", name, type, item, scope);
        node.children.push(...build(item.items, scope));
      } else if (type === "repeat") {
        node = makeNode("repeat", name, type, item, scope);
        const chain = [...scope.chain, name];
        const child: Scope = { chain, key: chainKey(chain), nodes: [], repeat: node };
        scopes.set(child.key, child);
        repeats.set(name, node);
        node.scope = child;
        child.nodes = build(item.items, child);
      } else if (type === "note") {
        node = makeNode("note", name, type, item, scope);
      } else if (type === "matrix") {
        // a container of single-choice rows sharing the matrix's list, required and constraint
        node = makeNode("matrix", name, type, { ...item, required: false, required_if: null, constraint: null }, scope);
        for (const row of Array.isArray(item.rows) ? (item.rows as unknown[]) : []) {
          if (!isObj(row) || typeof row.name !== "string") continue;
          const rowItem = { ...item, name: row.name, label: row.label, relevant: null };
          const rowNode = makeNode("value", row.name, "single_choice", rowItem, scope);
          makeField(rowNode, scope);
          node.children.push(rowNode);
        }
      } else if (type === "calculate") {
        node = makeNode("calculate", name, type, item, scope);
        makeField(node, scope);
      } else if (type in KINDS) {
        node = makeNode("value", name, type, type === "consent" ? { ...item, required: true } : item, scope);
        makeField(node, scope);
      } else {
        continue;
      }
      out.push(node);
    }
    return out;
  }

  root.nodes = build(spec.items, root);
  const kind = typeof spec.kind === "string" ? spec.kind : "questionnaire";
  const audiences: { name: string; label: Labels }[] = [];
  if (kind === "interview_guide") {
    for (const a of Array.isArray(spec.audiences) ? (spec.audiences as unknown[]) : []) {
      if (isObj(a) && typeof a.name === "string") audiences.push({ name: a.name, label: labelsOf(a.label) ?? { fr: a.name } });
    }
    for (const theme of Array.isArray(spec.themes) ? (spec.themes as unknown[]) : []) {
      if (!isObj(theme) || typeof theme.name !== "string") continue;
      const name = theme.name;
      const node = makeNode("theme", name, "theme", theme, root);
      node.audiences = new Set(
        (Array.isArray(theme.audiences) ? (theme.audiences as unknown[]) : []).filter((a) => typeof a === "string"),
      );
      const title = { fr: node.label.fr ?? name, en: node.label.en ?? node.label.fr ?? name };
      const generated: [string, string, Labels][] = [
        [`${name}__notes`, "long_text", { fr: `Notes : ${title.fr}`, en: `Notes: ${title.en}` }],
      ];
      if (theme.covered !== false) {
        generated.push([
          `${name}__covered`,
          "yes_no",
          { fr: `Thème abordé : ${title.fr}`, en: `Theme covered: ${title.en}` },
        ]);
      }
      for (const [fname, ftype, label] of generated) {
        const item: Json = { name: fname, type: ftype, label, ...(ftype === "yes_no" ? { choice_list: "yes_no" } : {}) };
        const child = makeNode("value", fname, ftype, item, root);
        makeField(child, root);
        node.children.push(child);
      }
      node.children.push(...build(theme.items, root));
      root.nodes.push(node);
    }
  }
  const calculationOrder: Field[] = [];
  for (const name of Array.isArray(spec.calculation_order) ? (spec.calculation_order as unknown[]) : []) {
    const f = typeof name === "string" ? fields.get(name) : undefined;
    if (f?.kind === "calculate") calculationOrder.push(f);
  }
  // as on the server, a calculation missing from the order (a spec the compiler did not produce) stays empty
  return {
    spec,
    kind,
    root,
    scopes,
    fields,
    nodes,
    repeats,
    audiences,
    calculationOrder,
    title: labelsOf(spec.title) ?? { fr: typeof spec.name === "string" ? spec.name : "" },
    entryTitle: labelsOf(spec.entry_title),
    lists,
  };
}

/** The text of `labels` in `lang`, else French (as the server's `text_of`). */
export function textIn(labels: Labels | null, lang: string): string | null {
  if (labels === null) return null;
  const t = labels[lang];
  return t !== undefined && t !== "" ? t : (labels.fr ?? null);
}
