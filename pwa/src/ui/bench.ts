// Benchmark hook (bench/pwa_outbox.py): only when localStorage "terrain.bench" is "1", main.tsx loads this
// chunk and it exposes window.terrainBench. It fills the outbox through the app's own paths (engine
// validation, createDraft, finalise), since encrypted rows cannot be copied into IndexedDB from outside.
import { offeredSpecs, type LocalStore, type SpecRow } from "../db/index.js";
import { deviceClock } from "../engine/expressions/index.js";
import { buildModel, FormSession, type Answers } from "../engine/form/index.js";
import { outboxChanged, session, store } from "./app-state.js";
import { specText } from "./i18n.js";
import { finaliseRecord, startRecord } from "./records.js";

type AnswerSet = Record<string, unknown>;

export interface QueueReport {
  queued: number;
  /** Wall time of the whole queueing (validation, encryption, IndexedDB), in ms. */
  ms: number;
  spec: string;
  version: number;
}

export interface TerrainBench {
  /** Creates, fills and finalises `n` records of `specName` (published on the current site): they wait in the
   * outbox. `answers` (cycled) replaces the built-in answer set; each set must pass the engine's validation. */
  queue(n: number, specName: string, answers?: readonly AnswerSet[]): Promise<QueueReport>;
  /** Saves an answer `n` times on a fresh draft (RecordStore.saveAnswers), then deletes the draft:
   * the duration of each save, in ms. */
  timeSave(n: number, specName?: string): Promise<number[]>;
}

declare global {
  interface Window {
    terrainBench?: TerrainBench;
  }
}

// Valid answer sets (tests/vectors/forms.json: diag_valid, journal_valid), for a call without answers.
const BUILT_IN: Readonly<Record<string, AnswerSet>> = {
  diagnostic_familles: {
    consentement: "OK",
    date_diagnostic: "2024-03-12",
    composition: "couple_avec_enfants",
    nb_personnes: 3,
    nb_enfants: 1,
    duree_sejour: "de_1_3_mois",
    prolongation_demandee: "no",
    aires_precedentes: "yes",
    nb_aires_precedentes: "deux_trois",
    membres: [
      { prenom_initiales: "A.M.", tranche_age: "de_25_59", sexe: "feminin", situation_activite: "salarie" },
      { prenom_initiales: "B.M.", tranche_age: "de_25_59", lien_parente: "conjoint" },
      { prenom_initiales: "C.M.", tranche_age: "de_6_10", lien_parente: "enfant", scolarisation: "etablissement", niveau_scolaire: "elementaire" },
    ],
    accompagnement_recu: ["demarches"],
    referent_identifie: "yes",
    structure_referente: "ccas",
  },
  journal_animations: {
    type_activite: "lecture",
    date_activite: "2024-03-14",
    heure_debut: "14:30:00",
    duree_minutes: 90,
    lieu: "salle_activite",
    activite_realisee: "yes",
    filles_0_5: 2,
    garcons_6_11: 3,
    femmes: 2,
    familles_touchees: 3,
  },
};

function opened(): LocalStore {
  const current = store.value;
  if (!current?.vault.isUnlocked) throw new Error("terrainBench: sign in or unlock first");
  return current;
}

async function publishedSpec(current: LocalStore, specName: string): Promise<{ site: string; spec: SpecRow }> {
  const site = (await current.session.currentSite()) ?? session.value?.sites[0] ?? null;
  if (!site) throw new Error("terrainBench: no site on this device");
  const spec = (await offeredSpecs(current.db, site)).find((s) => s.name === specName);
  if (!spec || spec.compiled === null) throw new Error(`terrainBench: ${specName} is not published on ${site}`);
  return { site, spec };
}

function who(): { email: string; deviceName: string } {
  return { email: session.value?.email ?? "", deviceName: session.value?.deviceName ?? "" };
}

async function queue(n: number, specName: string, answers?: readonly AnswerSet[]): Promise<QueueReport> {
  const started = performance.now();
  const current = opened();
  const { site, spec } = await publishedSpec(current, specName);
  const sets = answers && answers.length > 0 ? answers : [BUILT_IN[specName]];
  const model = buildModel(spec.compiled);
  const title = specText(spec.title);
  for (let index = 0; index < n; index++) {
    const set = sets[index % sets.length];
    if (!set) throw new Error(`terrainBench: no answer set for ${specName}`);
    // What the form screen does when "Terminer" is pressed: the engine checks, the checked answers go.
    const checked = new FormSession(model, { lang: "fr", clock: deviceClock(), answers: set as Answers }).validateAll();
    if (!checked.ok) {
      const codes = checked.problems.map((p) => `${p.code}:${p.item}`).join(", ");
      throw new Error(`terrainBench: answer set ${index % sets.length} is not valid (${codes})`);
    }
    const id = await startRecord(current, spec, site, who(), title);
    await finaliseRecord(current, id, spec, checked);
  }
  outboxChanged();
  return { queued: n, ms: performance.now() - started, spec: spec.name, version: spec.version };
}

async function timeSave(n: number, specName = "diagnostic_familles"): Promise<number[]> {
  const current = opened();
  const { site, spec } = await publishedSpec(current, specName);
  const base = BUILT_IN[specName] ?? {};
  const id = await startRecord(current, spec, site, who(), specText(spec.title));
  const durations: number[] = [];
  try {
    for (let index = 0; index < n; index++) {
      // A changed answer each time, the rest of the record as it would be mid-form.
      const answers = { ...base, observations: `Note ${index} : famille rencontrée sur l'emplacement.` };
      const begin = performance.now();
      await current.records.saveAnswers(id, { answers });
      durations.push(performance.now() - begin);
    }
  } finally {
    await current.records.deleteDraft(id);
  }
  return durations;
}

export function install(): void {
  if (localStorage.getItem("terrain.bench") !== "1") return;
  window.terrainBench = { queue, timeSave };
}
