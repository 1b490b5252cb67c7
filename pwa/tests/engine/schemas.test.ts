/**
 * The app's engine checked against the JSON Schemas the server publishes (`/api/v1/schemas/...`, files in
 * backend/terrain/speclang/schemas/): every node kind, operator and function of the expression schema (with
 * its arity) is what the TypeScript evaluator accepts, and every item type of the compiled-spec schema is
 * one the form engine knows. A change on one side without the other fails here.
 */
import { readFileSync } from "node:fs";

import { describe, expect, test } from "vitest";

import { compileTree, TreeError } from "../../src/engine/expressions/index.js";
import { ARITY } from "../../src/engine/expressions/functions.js";
import { createForm } from "../../src/engine/form/index.js";

interface Schema {
  $defs: Record<string, Record<string, unknown>>;
}

function load(name: string): Schema {
  const url = new URL(`../../../backend/terrain/speclang/schemas/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Schema;
}

const expression = load("expression.schema.json");
const compiledSpec = load("compiled-spec.schema.json");

const ONE = { t: "num", v: 1 };
const EXAMPLES: Record<string, unknown> = {
  num: ONE,
  str: { t: "str", v: "oui" },
  ref: { t: "ref", n: "age" },
  cur: { t: "cur" },
  neg: { t: "neg", e: ONE },
  bin: { t: "bin", op: "+", l: ONE, r: ONE },
  call: { t: "call", f: "true", a: [] },
};

describe("the expression schema and the evaluator", () => {
  test("the same node kinds", () => {
    const oneOf = expression.$defs["node"]?.["oneOf"] as { $ref: string }[];
    const kinds = oneOf.map((entry) => entry.$ref.split("/").pop() ?? "").sort();
    expect(kinds).toEqual(Object.keys(EXAMPLES).sort());
    for (const kind of kinds) expect(() => compileTree(EXAMPLES[kind])).not.toThrow();
    expect(() => compileTree({ t: "lambda" })).toThrow(TreeError);
  });

  test("the same operators", () => {
    const properties = expression.$defs["bin"]?.["properties"] as { op: { enum: string[] } };
    for (const op of properties.op.enum) expect(() => compileTree({ t: "bin", op, l: ONE, r: ONE })).not.toThrow();
    expect(() => compileTree({ t: "bin", op: "**", l: ONE, r: ONE })).toThrow(TreeError);
  });

  test("the same functions, with the same numbers of arguments", () => {
    const functions = (expression.$defs["function"]?.["enum"] as string[]).slice().sort();
    expect(Object.keys(ARITY).sort()).toEqual(functions);
    const groups = expression.$defs["call"]?.["oneOf"] as {
      properties: { f: { enum?: string[]; const?: string }; a: { minItems?: number; maxItems?: number } };
    }[];
    const seen = new Set<string>();
    for (const group of groups) {
      const min = group.properties.a.minItems ?? 0;
      const max = group.properties.a.maxItems ?? null;
      const names = group.properties.f.enum ?? (group.properties.f.const ? [group.properties.f.const] : []);
      for (const name of names) {
        seen.add(name);
        expect([name, ARITY[name]]).toEqual([name, [min, max]]);
      }
    }
    expect([...seen].sort()).toEqual(functions);
  });
});

describe("the compiled-spec schema and the form engine", () => {
  test("every item type of the schema builds a form", () => {
    const types = compiledSpec.$defs["item_type"]?.["enum"] as string[];
    const containers = new Set(["group", "repeat", "matrix", "note"]);
    for (const type of types) {
      const item: Record<string, unknown> = {
        name: "q",
        type,
        value_type: null,
        label: { fr: "Question" },
        hint: null,
        required: false,
        required_if: null,
        required_message: null,
        relevant: null,
        constraint: null,
        constraint_message: null,
        default: null,
        read_only: false,
        sensitive: false,
        appearance: null,
        choice_list: ["single_choice", "multiple_choice", "likert", "ranking", "matrix", "yes_no"].includes(type)
          ? "liste"
          : null,
        choice_filter: null,
        other: false,
        calculation: type === "calculate" ? { src: "1", ast: ONE } : null,
        items: type === "group" || type === "repeat" ? [] : null,
        min: null,
        max: null,
        count: null,
        rows: type === "matrix" ? [{ name: "ligne", label: { fr: "Ligne" } }] : null,
      };
      const spec = {
        format: 1,
        kind: "questionnaire",
        name: "essai",
        title: { fr: "Essai" },
        description: null,
        languages: ["fr"],
        choice_lists: { liste: [{ value: "1", label: { fr: "Un" }, filter: {} }], yes_no: [] },
        items: [item],
        fields: [],
        calculation_order: type === "calculate" ? ["q"] : [],
        metadata: [],
      };
      const form = createForm(spec, { lang: "fr", clock: { instant: 0, timeZone: "UTC" } });
      const state = form.item("q");
      expect([type, state.type]).toEqual([type, type]);
      if (!containers.has(type)) expect([type, state.kind]).not.toEqual([type, "note"]);
    }
  });
});
