/** Behaviour of the form engine on the example specs and the test spec of tests/vectors/forms.json. */

import { describe, expect, test } from "vitest";

import { createForm, FormError, type EvalKind } from "../../../src/engine/form/index.js";
import { CLOCK, VECTORS } from "./vectors.js";

const spec = (name: string): unknown => VECTORS.specs[name];

describe("dependency-driven re-evaluation", () => {
  test("setting an answer re-evaluates only the expressions reading it", () => {
    const seen: [EvalKind, string][] = [];
    const form = createForm(spec("satisfaction_usagers"), {
      lang: "fr",
      clock: CLOCK,
      onEvaluate: (kind, item) => seen.push([kind, item]),
    });
    form.state();
    seen.length = 0;
    form.set("orientation", "other");
    form.state();
    // only the relevance of orientation_other reads ${orientation}
    expect(seen).toEqual([["relevant", "orientation_other"]]);
    expect(form.item("orientation_other").visible).toBe(true);

    seen.length = 0;
    form.set("sat_delais", "pas_satisfait");
    form.state();
    // the calculation, then the relevance of ameliorations which reads the calculation: nothing else
    expect(seen).toEqual([
      ["calculation", "nb_insatisfactions"],
      ["relevant", "ameliorations"],
    ]);
    expect(form.item("nb_insatisfactions").value).toBe(1);
    expect(form.item("ameliorations").visible).toBe(true);
  });

  test("an answer nobody reads evaluates nothing but its own constraint", () => {
    const form = createForm(spec("journal_animations"), { lang: "fr", clock: CLOCK });
    form.state();
    const before = form.evaluations;
    form.set("duree_minutes", 0);
    expect(form.evaluations).toBe(before); // leaves are lazy
    expect(form.item("duree_minutes").error?.code).toBe("constraint");
    expect(form.evaluations).toBe(before + 1);
  });
});

describe("repeats", () => {
  test("add, remove, positions and sums from outside", () => {
    const form = createForm(spec("formes_test"), { lang: "fr", clock: CLOCK });
    form.set("nb_foyers", 2);
    expect(form.item("foyers").expected).toBe(2);
    expect(form.item("foyers").error?.code).toBe("repeat_count");
    form.syncCount("foyers");
    expect(form.item("foyers").instances?.map((i) => i.path)).toEqual(["foyers[0]", "foyers[1]"]);
    expect(form.item("foyers").error).toBeNull();
    form.set("foyers[0].nb_enfants_foyer", 2);
    form.set("foyers[1].nb_enfants_foyer", 3);
    expect(form.item("total_enfants").value).toBe(5);
    expect(form.item("foyers[1].position_foyer").value).toBe(2);
    expect(form.item("foyers[1].nom_foyer").label).toBe("Nom du foyer 2");
    expect(form.addInstance("foyers[1].enfants")).toBe("foyers[1].enfants[0]");
    form.set("foyers[1].enfants[0].age_enfant", 7);
    expect(form.item("foyers[1].enfants[0].age_double").value).toBe(14);
    expect(form.item("foyers[1].total_ages").value).toBe(7);
    expect(form.item("nb_blocs_enfants").value).toBe(1);
    form.removeInstance("foyers", 0);
    expect(form.item("foyers[0].position_foyer").value).toBe(1);
    expect(form.item("total_enfants").value).toBe(3);
    expect(form.item("foyers").error?.code).toBe("repeat_count");
    // a nested repeat hidden by its relevance: its values leave the sums
    form.set("foyers[0].nb_enfants_foyer", 0);
    expect(form.item("foyers[0].enfants").visible).toBe(false);
    expect(form.item("nb_blocs_enfants").value).toBe(0);
    expect(form.validateAll().dropped.map((d) => [d.code, d.item, d.instance])).toEqual([["not_relevant", "enfants", "foyers.1"]]);
  });

  test("max is enforced when adding", () => {
    const form = createForm(spec("formes_test"), { lang: "fr", clock: CLOCK });
    form.addInstance("visites");
    form.addInstance("visites");
    expect(form.item("visites").canAdd).toBe(false);
    expect(() => form.addInstance("visites")).toThrow(FormError);
  });
});

describe("choices", () => {
  test("choice_filter offers the filtered choices, other always", () => {
    const form = createForm(spec("formes_test"), { lang: "fr", clock: CLOCK });
    form.set("dept", "69");
    expect(form.item("commune").choices?.map((c) => c.value)).toEqual(["lyon", "villeurbanne"]);
    expect(form.item("commune").label).toBe("Commune (69)");
    expect(form.item("communes_visitees").choices?.map((c) => c.value)).toEqual(["lyon", "villeurbanne", "other"]);
    form.set("commune", "lyon");
    form.set("dept", "75");
    expect(form.item("commune").error?.code).toBe("choice");
    expect(form.item("communes_visitees").choices?.map((c) => c.value)).toEqual(["paris", "lyon", "other"]);
  });

  test("other + <name>_other", () => {
    const form = createForm(spec("satisfaction_usagers"), { lang: "fr", clock: CLOCK });
    expect(form.item("service_other").visible).toBe(false);
    form.set("service", "other");
    expect(form.item("service_other").visible).toBe(true);
    form.set("service_other", "Atelier");
    form.set("service", "insertion");
    expect(form.answers()).not.toHaveProperty("service_other");
    expect(form.validateAll().dropped.map((d) => d.item)).toEqual(["service_other"]);
  });

  test("matrix rows are their own answers with the matrix's list", () => {
    const form = createForm(spec("satisfaction_usagers"), { lang: "en", clock: CLOCK });
    const matrix = form.item("qualite_service");
    expect(matrix.children).toContain("sat_accueil");
    expect(form.item("sat_accueil").label).toBe("the welcome");
    form.set("sat_accueil", "nope");
    expect(form.item("sat_accueil").error?.code).toBe("choice");
  });
});

describe("guides and pages", () => {
  test("audience selects the themes", () => {
    const form = createForm(spec("guide_epn"), { lang: "fr", clock: CLOCK, audience: "usagers" });
    const pages = form.pages();
    expect(pages.map((p) => p.id)).toContain("usager_profil");
    expect(pages.map((p) => p.id)).not.toContain("structure");
    expect(form.item("structure__notes").visible).toBe(false);
    expect(form.item("missions__covered").choices?.map((c) => c.value)).toEqual(["yes", "no"]);
    expect(form.item("frequence_venue").required).toBe(true);
  });

  test("top-level groups are pages, loose items pages between them", () => {
    const form = createForm(spec("diagnostic_familles"), { lang: "fr", clock: CLOCK });
    const pages = form.pages();
    expect(pages[0]?.items).toEqual(["consentement", "date_diagnostic"]);
    expect(pages[1]?.id).toBe("typologie");
    expect(pages.map((p) => p.id)).toContain("accompagnement");
  });
});

describe("messages and values", () => {
  test("spec messages in fr and en, ${} filled, generic fallbacks", () => {
    for (const [lang, text, generic] of [
      ["fr", "Un téléphone pour 3 foyers.", "Une réponse est obligatoire."],
      ["en", "A phone for 3 households.", "An answer is required."],
    ] as const) {
      const form = createForm(spec("formes_test"), { lang, clock: CLOCK });
      form.set("nb_foyers", 3);
      expect(form.item("telephone").required).toBe(true);
      expect(form.item("telephone").error?.message).toBe(text);
      form.addInstance("visites");
      expect(form.item("visites[0].date_visite").error?.message).toBe(generic);
    }
  });

  test("defaults fill a new form; read-only and calculations refuse set()", () => {
    const form = createForm(spec("journal_animations"), { lang: "fr", clock: CLOCK });
    expect(form.item("activite_realisee").value).toBe("yes");
    expect(() => { form.set("nb_participants", 3); }).toThrow(FormError);
    const test = createForm(spec("formes_test"), { lang: "fr", clock: CLOCK });
    expect(test.item("bilan").readOnly).toBe(true);
    expect(() => { test.set("bilan", "x"); }).toThrow(FormError);
  });

  test("file answers: an attachment reference in, the SHA-256 and the attachments list out", () => {
    const form = createForm(spec("formes_test"), { lang: "fr", clock: CLOCK });
    const ref = { sha256: "c".repeat(64), media_type: "image/jpeg", size: 10 };
    form.set("photo_lieu", ref);
    expect(form.item("photo_lieu").value).toEqual(ref);
    const result = form.validateAll();
    expect(result.answers.photo_lieu).toBe(ref.sha256);
    expect(result.attachments).toEqual([{ ...ref, item: "photo_lieu" }]);
    const draft = createForm(spec("formes_test"), { lang: "fr", clock: CLOCK, answers: { photo_lieu: "d".repeat(64) } });
    expect(draft.item("photo_lieu").error?.code).toBe("attachment_missing_ref");
  });

  test("type problems keep the value out of expressions and say so", () => {
    const form = createForm(spec("diagnostic_familles"), { lang: "fr", clock: CLOCK });
    form.set("nb_personnes", "trois");
    expect(form.item("nb_personnes").error).toEqual({ code: "type", message: "Un nombre entier est attendu." });
    expect(form.item("nb_adultes").value).toBeNull();
  });
});

describe("draft()", () => {
  test("keeps hidden answers, so that they come back after a reload when the item shows again", () => {
    const form = createForm(spec("satisfaction_usagers"), { lang: "fr", clock: CLOCK });
    form.set("orientation", "other");
    form.set("orientation_other", "par une voisine");
    form.set("orientation", "caf");
    expect(form.item("orientation_other").visible).toBe(false);
    expect(form.validateAll().answers).not.toHaveProperty("orientation_other");
    const draft = form.draft();
    expect(draft).toMatchObject({ orientation: "caf", orientation_other: "par une voisine" });

    const reloaded = createForm(spec("satisfaction_usagers"), { lang: "fr", clock: CLOCK, answers: draft });
    reloaded.set("orientation", "other");
    expect(reloaded.item("orientation_other").value).toBe("par une voisine");
  });

  test("writes repeats as lists of blocks and leaves empty answers out", () => {
    const form = createForm(spec("diagnostic_familles"), { lang: "fr", clock: CLOCK });
    form.set("nb_personnes", 2);
    form.syncCount("membres");
    form.set("membres[1].prenom_initiales", "L.");
    form.set("observations", "");
    const draft = form.draft() as Record<string, unknown>;
    expect(draft["membres"]).toEqual([{}, { prenom_initiales: "L." }]);
    expect(draft).not.toHaveProperty("observations");
  });
});

describe("functions local to the form", () => {
  test("choice-label() gives the label in the session's language, choice-property() a property, selected-at() an item", () => {
    for (const [lang, green, blue] of [
      ["fr", "Vert", "Bleu"],
      ["en", "Green", "Blue"],
    ] as const) {
      const form = createForm(spec("fonctions_test"), { lang, clock: CLOCK });
      expect(form.item("libelle_couleur").value).toBe("");
      form.set("couleur", "vert");
      expect(form.item("libelle_couleur").value).toBe(green);
      expect(form.item("famille_couleur").value).toBe("froide"); // a property: the same in every language
      form.set("couleurs_aimees", ["rouge", "bleu"]);
      expect(form.item("deuxieme_couleur").value).toBe("bleu");
      expect(form.item("libelle_deuxieme").value).toBe(blue);
      form.set("couleurs_aimees", ["rouge"]);
      expect(form.item("deuxieme_couleur").value).toBe(""); // past the end
      expect(form.item("libelle_deuxieme").value).toBe("");
    }
  });

  test("once() keeps its first value after the input changes, and after a reload", () => {
    const form = createForm(spec("fonctions_test"), { lang: "fr", clock: CLOCK });
    expect(form.item("nb_initial").value).toBeNull();
    form.set("nb_personnes", 2);
    expect(form.item("nb_initial").value).toBe(2);
    form.set("nb_personnes", 5);
    expect(form.item("nb_initial").value).toBe(2);
    const again = createForm(spec("fonctions_test"), { lang: "fr", clock: CLOCK, answers: form.draft() });
    again.set("nb_personnes", 7);
    expect(again.item("nb_initial").value).toBe(2);
  });

  test("indexed-repeat() reads another block of the repeat, from inside and outside it", () => {
    const form = createForm(spec("fonctions_test"), { lang: "en", clock: CLOCK });
    expect(form.addInstance("personnes")).toBe("personnes[0]");
    expect(form.addInstance("personnes")).toBe("personnes[1]");
    form.set("personnes[0].age", 30);
    form.set("personnes[1].age", 5);
    form.set("personnes[1].prenom", "Bo");
    expect(form.item("personnes[1].age_precedent").value).toBe(30);
    expect(form.item("personnes[0].age_precedent").value).toBe("");
    expect(form.item("premier_prenom").value).toBeNull(); // the first block has no prenom yet
    form.set("personnes[0].prenom", "Ana");
    expect(form.item("premier_prenom").value).toBe("Ana");
    form.removeInstance("personnes", 0);
    expect(form.item("premier_prenom").value).toBe("Bo");
    expect(form.item("personnes[0].age_precedent").value).toBe("");
  });
});
