// @ts-check
// "Try the sample photos": real CC0 ISIC photos from the demo model's test split, described in
// samples/samples.json, listed with their diagnosis and attribution and uploaded like any picked file.
// Once classified, each is marked right or wrong against its diagnosis by the model card's own rule
// (decisions.js: verdictOf, rightRule), in the list, the results table and the detail view, and the
// list says how many are right and what "right" means.

import { el, clear } from "./dom.js";
import { errorMessage } from "./downloads.js";
import { OUT_OF_DOMAIN, UNCERTAIN, ruleOf, knownTruthOf, outcomeOf, positiveScoreText, rightRule, setKnownTruths, verdictOf } from "./decisions.js";
import { STATUS } from "./status.js";

const SAMPLES_URL = "samples/samples.json";

/** @typedef {{file: string, isic_id: string, truth: string, diagnosis: string, diagnosis_confirmed_by?: string | null, attribution: string}} Sample */
/** @typedef {import("./store.js").Entry} Entry */

/** @returns {Promise<Sample[]>} */
async function loadSamples() {
  const response = await fetch(SAMPLES_URL);
  if (!response.ok) throw new Error(`${SAMPLES_URL}: HTTP ${response.status}`);
  return response.json();
}

/** " (confirmed by histopathology)", or nothing when the archive does not say. @param {Sample} sample */
export function confirmedText(sample) {
  const by = typeof sample.diagnosis_confirmed_by === "string" ? sample.diagnosis_confirmed_by.trim() : "";
  return by && by.toLowerCase() !== "not stated" ? ` (confirmed by ${by})` : "";
}

/**
 * How the classified samples fare: right and wrong by the card's rule, and how many of them were
 * uncertain or out of domain (counted by their side of the threshold all the same).
 * @param {Entry[]} entries
 */
export function sampleScore(entries) {
  let right = 0;
  let wrong = 0;
  let uncertain = 0;
  let outside = 0;
  /** @type {import("./decisions.js").PositiveRule | null} */
  let rule = null;
  for (const entry of entries) {
    const known = entry.status === STATUS.OK ? knownTruthOf(entry) : null;
    const verdict = known ? verdictOf(entry.record, known.truth) : null;
    if (!verdict) continue;
    rule = rule || ruleOf(entry.record);
    if (verdict === "right") right += 1;
    else wrong += 1;
    const key = outcomeOf(entry).key;
    if (key === UNCERTAIN) uncertain += 1;
    if (key === OUT_OF_DOMAIN) outside += 1;
  }
  return { right, wrong, uncertain, outside, scored: right + wrong, rule };
}

/**
 * @param {{samplesList: HTMLElement, samplesButton: HTMLButtonElement}} els
 * @param {{addFiles: (files: File[]) => void, alert: (message: string) => void, refresh: () => void}} hooks
 * @returns {{render: (entries: Entry[]) => void}}
 */
export function wireSamples({ samplesList: list, samplesButton: button }, { addFiles, alert, refresh }) {
  /** @type {Map<string, HTMLElement>} */
  const results = new Map(); // sample file -> the line that says what the model made of it
  const score = el("p", { class: "samples-score", hidden: true });
  list.after(score);
  const samples = loadSamples();
  samples.then((found) => {
    setKnownTruths(new Map(found.map((sample) => [sample.file, { truth: sample.truth, text: sample.diagnosis }])));
    for (const sample of found) {
      const result = el("span", { class: "sample-result" });
      results.set(sample.file, result);
      list.append(el("li", {},
        el("img", { src: `samples/${sample.file}`, alt: "", width: 48, height: 48, loading: "lazy" }), // described beside it
        el("span", {},
          el("strong", { text: `${sample.isic_id}: ${sample.diagnosis}` }),
          el("span", { text: `${confirmedText(sample)}.` }),
          result,
          el("small", { class: "attribution", text: sample.attribution }))));
    }
    button.textContent = `Try ${found.length} real ISIC sample photos`;
    refresh(); // rows already on screen with a sample's name get its diagnosis
  }).catch(() => { button.hidden = true; });
  button.addEventListener("click", async () => {
    try {
      const files = await Promise.all((await samples).map(async (sample) => {
        const response = await fetch(`samples/${sample.file}`);
        if (!response.ok) throw new Error(`${sample.file}: HTTP ${response.status}`);
        const blob = await response.blob();
        return new File([blob], sample.file, { type: blob.type || "image/jpeg" });
      }));
      addFiles(files);
    } catch (err) {
      alert(`Could not load the sample images: ${errorMessage(err)}`);
    }
  });

  /** The batch on screen changed: say what the model made of each sample in it, and count. @param {Entry[]} entries */
  function render(entries) {
    for (const [file, line] of results) {
      const entry = entries.find((e) => e.name === file && e.status === STATUS.OK);
      const known = entry ? knownTruthOf(entry) : null;
      const verdict = entry && known ? verdictOf(entry.record, known.truth) : null;
      clear(line);
      if (!entry || !verdict) continue;
      const outcome = outcomeOf(entry);
      const positive = positiveScoreText(entry.record);
      line.append(" The model: ", el("span", { class: `outcome outcome-${outcome.kind}`, text: outcome.text }),
        positive ? ` (${positive})` : "", ": ", el("span", { class: `verdict verdict-${verdict}`, text: verdict }), ".");
    }
    const tally = sampleScore(entries);
    clear(score);
    score.hidden = tally.scored === 0;
    if (tally.scored === 0) return;
    const apart = [
      tally.uncertain ? `${tally.uncertain} uncertain` : "",
      tally.outside ? `${tally.outside} out of domain` : "",
    ].filter(Boolean).join(", ");
    score.append(el("strong", { text: `Sample photos: ${tally.right} of ${tally.scored} right` }),
      apart ? ` (${apart} among them)` : "", `, counted as the model card counts them. ${rightRule(tally.rule)}.`);
  }

  return { render };
}
