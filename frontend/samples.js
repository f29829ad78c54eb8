// @ts-check
// "Try the sample photos": real CC0 ISIC photos from the demo model's test split, described in
// samples/samples.json, listed with their attribution and uploaded like any picked file.

import { el } from "./dom.js";
import { errorMessage } from "./downloads.js";

const SAMPLES_URL = "samples/samples.json";

/** @typedef {{file: string, isic_id: string, diagnosis: string, diagnosis_confirmed_by: string, demo_model: string, attribution: string}} Sample */

/** @returns {Promise<Sample[]>} */
async function loadSamples() {
  const response = await fetch(SAMPLES_URL);
  if (!response.ok) throw new Error(`${SAMPLES_URL}: HTTP ${response.status}`);
  return response.json();
}

/**
 * @param {{samplesList: HTMLElement, samplesButton: HTMLButtonElement}} els
 * @param {{addFiles: (files: File[]) => void, alert: (message: string) => void}} hooks
 */
export function wireSamples({ samplesList: list, samplesButton: button }, { addFiles, alert }) {
  const samples = loadSamples();
  samples.then((found) => {
    for (const sample of found) {
      list.append(el("li", {},
        el("img", { src: `samples/${sample.file}`, alt: "", width: 48, height: 48, loading: "lazy" }), // described beside it
        el("span", {},
          el("strong", { text: `${sample.isic_id}: ${sample.diagnosis}` }),
          el("span", { text: ` (confirmed by ${sample.diagnosis_confirmed_by}). The demo model: ${sample.demo_model}.` }),
          el("small", { class: "attribution", text: sample.attribution }))));
    }
    button.textContent = `Try ${found.length} real ISIC sample photos`;
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
}
