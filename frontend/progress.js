// @ts-check
// The batch bar and progress: the batch id and CSV links, the two progress bars, the live-region sentence
// (changed only when the counts do, at most once a second), the one-line summary of outcomes and, for an
// object detector's batch, the objects counted over the batch.

import { el, clear, formatBytes } from "./dom.js";
import { summaryLine } from "./decisions.js";
import { batchTotals, countsNodes, objectsText } from "./counts.js";
import { counts, progressSummary, uploadedCount, canRetry } from "./store.js";

/** @typedef {import("./elements.js").Elements} Elements */
/** @typedef {import("./store.js").State} State */

export class ProgressView {
  /** @param {Elements} els @param {State} state */
  constructor(els, state) {
    this.els = els;
    this.state = state;
    this.lastAnnounced = "";
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.announceTimer = null;
    this.lastAnnouncedAt = 0;
  }

  /** The batch id, its CSV links and the page's #batch= hash follow the batch on screen. */
  showBatch() {
    const { batchId, csvLink, csvShown } = this.els;
    const { batch, api } = this.state;
    batchId.textContent = batch || "none yet";
    if (batch && api) {
      csvLink.href = api.csvUrl({ batch });
      csvLink.setAttribute("download", `spotter-${batch}.csv`);
      csvLink.removeAttribute("aria-disabled");
      csvLink.hidden = false;
    } else {
      csvLink.removeAttribute("href");
      csvLink.hidden = true;
    }
    csvShown.hidden = !(batch && api);
    const hash = batch ? `#batch=${encodeURIComponent(batch)}` : "";
    if (window.location.hash !== hash) history.replaceState(null, "", `${window.location.pathname}${window.location.search}${hash}`);
  }

  update() {
    const els = this.els;
    const c = counts(this.state.entries);
    els.uploadProgress.max = Math.max(1, c.bytes);
    els.uploadProgress.value = c.sent;
    els.classifyProgress.max = Math.max(1, uploadedCount(c));
    els.classifyProgress.value = c.ok + c.rejected;
    els.uploadProgressText.textContent = c.bytes ? `${formatBytes(c.sent)} of ${formatBytes(c.bytes)}` : "";
    els.progressSection.hidden = c.total === 0;
    const row = /** @type {HTMLElement | null} */ (els.uploadProgress.closest(".progress-row"));
    if (row) row.hidden = c.bytes === 0; // a reopened batch has nothing to send
    // enabled while uploads run: leaving them asks first (app.js leaveBatch), so a hung upload never traps the page
    els.newBatch.disabled = c.total === 0;
    // Failed uploads the page still holds the files of: "0 of 2 uploaded, 2 failed: Retry".
    const retryable = this.retryable();
    els.retryFailed.hidden = retryable === 0;
    els.retryFailed.setAttribute("aria-label", `Retry the ${retryable} failed upload${retryable === 1 ? "" : "s"}`);
    // The live region only changes when counts do (not on every progress event), at most once a second.
    const summary = progressSummary(c, retryable > 0);
    if (summary !== this.lastAnnounced && !this.announceTimer) {
      this.announceTimer = setTimeout(() => {
        this.announceTimer = null;
        this.lastAnnouncedAt = Date.now();
        this.lastAnnounced = progressSummary(counts(this.state.entries), this.retryable() > 0);
        els.progressText.textContent = this.lastAnnounced;
      }, Math.max(0, 1000 - (Date.now() - this.lastAnnouncedAt)));
    }
  }

  /** How many failed uploads can be sent again. */
  retryable() {
    return this.state.entries.filter(canRetry).length;
  }

  /** A sentence in the progress line that is not the counts (new batch, deleted, given up). @param {string} text */
  say(text) {
    // A count update already scheduled would overwrite the sentence with the same (often empty) counts:
    // the sentence stays until the counts change.
    if (this.announceTimer) {
      clearTimeout(this.announceTimer);
      this.announceTimer = null;
    }
    this.lastAnnounced = progressSummary(counts(this.state.entries), this.retryable() > 0);
    this.els.progressText.textContent = text;
  }

  /** Forget what was announced: the next counts are announced even if they read the same. */
  reset() {
    this.lastAnnounced = "";
  }

  /** "This batch: 3 benign, 1 rejected" above the table; "Objects counted: 2 dog, 1 person (3 objects in
   * 2 images)" under it for a detector's batch. */
  renderSummary() {
    this.renderTotals();
    const box = this.els.batchSummary;
    const parts = summaryLine(this.state.entries);
    clear(box);
    box.hidden = parts.length === 0;
    if (parts.length === 0) return;
    box.append(el("span", { class: "visually-hidden", text: "This batch: " }));
    parts.forEach((part, i) => {
      if (i > 0) box.append(", ");
      box.append(el("span", { class: `outcome outcome-${part.outcome.kind} user-text`, dir: "auto", text: part.text }));
    });
  }

  /** Objects per label over the batch's detection records (hidden for a classifier's batch). */
  renderTotals() {
    const box = this.els.batchTotals;
    const totals = batchTotals(this.state.entries);
    clear(box);
    box.hidden = totals === null;
    if (!totals) return;
    const { pairs, objects, images } = totals;
    box.append(el("span", { class: "strong", text: "Objects counted: " }),
      ...(pairs.length ? countsNodes(pairs) : ["none"]),
      el("span", { class: "meta inline", text: ` (${objectsText(objects)} in ${images} image${images === 1 ? "" : "s"})` }));
  }
}
