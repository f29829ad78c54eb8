// @ts-check
// "Try the sample photos": real CC0 ISIC photos from the demo model's test split, described in
// samples/samples.json, listed with their diagnosis and attribution and uploaded like any picked file.
// Only the photos added with this button are samples (app.js keeps which, per batch): a researcher's own
// file that has a sample's name is not. Once classified, each is marked right, wrong or not assessed against its diagnosis by the project's one
// rule (decisions.js: verdictOf, rightRule: the decision is the truth; uncertain and out-of-domain photos
// are neither), in the list, the results table and the detail view, and the list counts them and says
// what "right" means. The samples are dermoscopy photos: they are not offered for a detector's card.

import { el, clear } from "./dom.js";
import { errorMessage } from "./downloads.js";
import { OUT_OF_DOMAIN, UNCERTAIN, knownTruthOf, outcomeOf, positiveScoreText, rightRule, setKnownTruths, verdictOf, verdictText } from "./decisions.js";
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
 * How the classified samples fare: right and wrong by the project's rule, and how many were not assessed
 * (uncertain, out of domain: neither right nor wrong).
 * @param {Entry[]} entries
 */
export function sampleScore(entries) {
  let right = 0;
  let wrong = 0;
  let uncertain = 0;
  let outside = 0;
  let other = 0;
  for (const entry of entries) {
    const known = entry.status === STATUS.OK ? knownTruthOf(entry) : null;
    if (!known || known.source !== "sample") continue;
    const verdict = verdictOf(entry.record, known.truth);
    if (verdict === "right") right += 1;
    else if (verdict === "wrong") wrong += 1;
    else if (verdict === "not-assessed") {
      const key = outcomeOf(entry).key;
      if (key === UNCERTAIN) uncertain += 1;
      else if (key === OUT_OF_DOMAIN) outside += 1;
      else other += 1;
    }
  }
  const notAssessed = uncertain + outside + other;
  return { right, wrong, uncertain, outside, notAssessed, scored: right + wrong + notAssessed };
}

/** "Sample photos: 2 right, 2 wrong, 1 not assessed (1 uncertain)". @param {ReturnType<typeof sampleScore>} tally */
export function sampleScoreText(tally) {
  const apart = [
    tally.uncertain ? `${tally.uncertain} uncertain` : "",
    tally.outside ? `${tally.outside} out of domain` : "",
  ].filter(Boolean).join(", ");
  const notAssessed = tally.notAssessed ? `, ${tally.notAssessed} not assessed${apart ? ` (${apart})` : ""}` : "";
  return `Sample photos: ${tally.right} right, ${tally.wrong} wrong${notAssessed}`;
}

/**
 * @param {{samplesList: HTMLElement, samplesButton: HTMLButtonElement}} els
 * @param {{addFiles: (files: File[], options: {sample: boolean}) => void, alert: (message: string) => void, refresh: () => void}} hooks
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
      addFiles(files, { sample: true });
    } catch (err) {
      alert(`Could not load the sample images: ${errorMessage(err)}`);
    }
  });

  /** The batch on screen changed: say what the model made of each sample in it, and count. @param {Entry[]} entries */
  function render(entries) {
    for (const [file, line] of results) {
      const entry = entries.find((e) => e.name === file && e.sample && e.status === STATUS.OK);
      const known = entry ? knownTruthOf(entry) : null;
      const verdict = entry && known && known.source === "sample" ? verdictOf(entry.record, known.truth) : null;
      clear(line);
      if (!entry || !verdict) continue;
      const outcome = outcomeOf(entry);
      const positive = positiveScoreText(entry.record);
      line.append(" The model: ", el("span", { class: `outcome outcome-${outcome.kind}`, text: outcome.text }),
        positive ? ` (${positive})` : "", ": ", el("span", { class: `verdict verdict-${verdict}`, text: verdictText(verdict) }), ".");
    }
    const tally = sampleScore(entries);
    clear(score);
    score.hidden = tally.scored === 0;
    if (tally.scored === 0) return;
    score.append(el("strong", { text: sampleScoreText(tally) }), `. ${rightRule()}.`);
  }

  return { render };
}
