// @ts-check
// The top of the page: the alert line, the researcher sign-in bar (only when config.json has "auth"),
// the model's name and its disclaimer.

/** @typedef {import("./elements.js").Elements} Elements */
/** @typedef {import("./auth.js").Auth} Auth */

/** Show `message` in the alert line, or hide it when empty. `source` tags who put it there.
 * @param {Elements} els @param {string} message @param {string} [source] */
export function showAlert(els, message, source) {
  els.alert.textContent = message;
  els.alert.hidden = !message;
  if (source) els.alert.dataset.source = source;
}

/** Clear the alert if `source` put it there. @param {Elements} els @param {string} source */
export function clearAlertFrom(els, source) {
  if (els.alert.dataset.source !== source) return;
  showAlert(els, "");
  delete els.alert.dataset.source;
}

/** Uploading on or off (no API, or signed out). @param {Elements} els @param {boolean} enabled */
export function enableUploads(els, enabled) {
  els.dropzone.disabled = !enabled;
  els.samplesButton.disabled = !enabled;
}

/** @param {Elements} els @param {Auth} auth */
export function renderAuth(els, auth) {
  const signedIn = auth.signedIn;
  els.authBar.hidden = false;
  els.authSignedIn.hidden = !signedIn;
  els.authEmail.textContent = signedIn ? auth.email : "";
  els.signOut.hidden = !signedIn;
  els.authSignedOut.hidden = signedIn;
  els.signIn.hidden = signedIn;
  enableUploads(els, signedIn);
}

/** @param {Elements} els @param {Auth} auth */
export function wireAuth(els, auth) {
  els.signIn.addEventListener("click", () => auth.signIn().catch((err) => showAlert(els, err.message)));
  els.signOut.addEventListener("click", () => auth.signOut());
  auth.onChange(() => {
    renderAuth(els, auth);
    if (!auth.signedIn) showAlert(els, "You are signed out. Sign in again to continue.");
  });
}

// The disclaimer is open the first time this browser shows it (or when its text changes), and a
// one-line summary that opens it on later visits, so it no longer fills a phone's first screen.
const DISCLAIMER_SEEN = "spotter.disclaimerSeen";

/** The disclaimer's first sentence, for its one-line summary ("" when too long). @param {string} text */
export function disclaimerSummary(text) {
  const first = text.split(/(?<=\.)\s/)[0];
  return first.length < 160 ? `: ${first}` : "";
}

/** @param {Elements} els @param {string} text @param {Storage | null} storage */
export function showDisclaimer(els, text, storage) {
  els.disclaimerText.textContent = text;
  els.disclaimerSummary.textContent = disclaimerSummary(text);
  let seen = null;
  try {
    if (!storage) throw new Error("no storage");
    seen = storage.getItem(DISCLAIMER_SEEN);
    storage.setItem(DISCLAIMER_SEEN, text);
  } catch {
    /* no storage: always open */
  }
  els.disclaimerDetails.open = seen !== text;
  els.disclaimer.hidden = false;
}

/** "Skin lesion demo 1.2" in the header. @param {Elements} els @param {{name?: unknown, version?: unknown}} card */
export function showModelName(els, card) {
  if (card.name) els.modelName.textContent = `${card.name}${card.version ? ` ${card.version}` : ""}`;
}
