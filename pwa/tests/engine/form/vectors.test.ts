/**
 * The shared form vectors (tests/vectors/forms.json, written by tests/vectors/regenerate_forms.py from the
 * server's validation): for every case the engine gives the server's problems, sends the answers the server
 * computes (calculations included, hidden answers left out) and drops exactly what the server calls
 * not_relevant or unknown.
 */

import { describe, expect, test } from "vitest";

import { createForm } from "../../../src/engine/form/index.js";
import { CLOCK, VECTORS } from "./vectors.js";

function sorted(list: (readonly [string, string | null, string])[]): string[] {
  return list.map((p) => JSON.stringify(p)).sort();
}

describe(`form vectors: ${VECTORS.cases.length} cases`, () => {
  test.each(VECTORS.cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const form = createForm(VECTORS.specs[c.spec], {
      answers: c.answers,
      lang: c.lang ?? "fr",
      clock: CLOCK,
      audience: c.audience ?? null,
      attachments: c.attachments ?? [],
    });
    const result = form.validateAll();
    expect(sorted(result.problems.map((p) => [p.code, p.item, p.instance] as const))).toEqual(sorted([...c.problems]));
    expect(result.answers).toEqual(c.sent);
    const droppedByServer = c.problems_raw.filter((p) => p[0] === "not_relevant" || p[0] === "unknown_item");
    expect(sorted(result.dropped.map((d) => [d.code, d.item, d.instance] as const))).toEqual(sorted(droppedByServer));
    expect(result.ok).toBe(c.problems.length === 0);
    // the answers sent, loaded again, are stable and give the same problems
    const again = createForm(VECTORS.specs[c.spec], { answers: result.answers, lang: c.lang ?? "fr", clock: CLOCK, audience: c.audience ?? null, attachments: c.attachments ?? [] }).validateAll();
    expect(again.answers).toEqual(result.answers);
    expect(again.dropped).toEqual([]);
  });
});
