// @ts-check
// One image, large, with every score, the decision and its rule, capture metadata and the model; for an
// object detector's record, its boxes drawn over the image (the "Show boxes" toggle) and listed as text.
// A modal <dialog>: Esc closes it (the browser's own), arrow keys move through the rows as shown.

import { el, clear, safeImageUrl, formatBytes, formatPercent, formatDateTime, isolated, userText, withUserText } from "./dom.js";
import { outcomeOf, positiveScoreOf, positiveScoreText, outOfDomainSentence, knownTruthOf, verdictOf, verdictText, rightRule } from "./decisions.js";
import { reasonOf } from "./results.js";
import { STATUS, statusText } from "./status.js";
import { isDetection, countPairs, countsNodes, objectCount, objectsText, boxesOf, drawnBox, describedBox } from "./counts.js";

/** @typedef {import("./store.js").Entry} Entry */
/** @typedef {import("./store.js").ApiRecord} ApiRecord */
/** @typedef {Record<string, any>} Card the model card, JSON as GET /model gives it */

/** @param {Array<[string, Node | string | null | undefined]>} pairs */
function facts(pairs) {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "");
  return el("dl", { class: "kv" }, shown.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", {}, value)]));
}

/** @param {unknown} value @param {number} [digits] */
function number(value, digits = 6) {
  return typeof value === "number" && Number.isFinite(value) ? String(Number(value.toFixed(digits))) : null;
}

/** @param {ApiRecord} record @param {Card} card */
function scoresTable(record, card) {
  const top = Array.isArray(record.top) ? record.top : [];
  const byLabel = new Map(top.map((t) => [String(t && t.label), t && t.score]));
  /** @type {string[]} */
  const labels = Array.isArray(card.labels) && card.labels.length ? card.labels.map(String) : Array.from(byLabel.keys());
  const every = labels.every((label) => byLabel.has(label));
  const rows = (every ? labels : Array.from(byLabel.keys())).map((label) => {
    const score = byLabel.get(label);
    const pct = typeof score === "number" ? Math.max(0, Math.min(1, score)) : 0;
    return el("tr", {},
      el("th", { scope: "row", class: "user-text", dir: "auto", text: label }),
      el("td", { class: "num", text: formatPercent(score) }),
      el("td", {}, el("span", { class: "bar", "aria-hidden": "true" }, el("span", { style: `width:${(pct * 100).toFixed(1)}%` }))));
  });
  return [
    el("table", { class: "scores" },
      el("caption", { text: every ? "Score for every label" : `Top ${rows.length} of ${labels.length} labels` }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Label" }), el("th", { scope: "col", text: "Score" }),
        el("th", { scope: "col" }, el("span", { class: "visually-hidden", text: "Bar" })))),
      el("tbody", {}, rows)),
  ];
}

/** @param {ApiRecord} record @param {Card} card */
function decisionFacts(record, card) {
  const rule = card.decision && typeof card.decision === "object" ? card.decision : null;
  const band = rule && Array.isArray(rule.uncertain_band) ? rule.uncertain_band : null;
  const outcome = outcomeOf({ status: STATUS.OK, record });
  const positive = positiveScoreText(record); // "malignant 0.42, threshold 0.30": the number decided on
  const check = card.domain_check && typeof card.domain_check === "object" ? card.domain_check : null;
  const distance = typeof record.domain_distance === "number" && Number.isFinite(record.domain_distance)
    ? `${record.domain_distance.toFixed(2)} from the training photos${check && typeof check.threshold === "number" ? ` (at most ${check.threshold.toFixed(2)} is assessed)` : ""}`
    : null;
  return facts([
    ["Decided", record.decision || record.label ? el("span", { class: `label outcome outcome-${outcome.kind}`, dir: "auto", text: outcome.text }) : null],
    ["Score", positive ? el("span", { class: "score" }, positive, card.calibration ? " (calibrated: reads as a probability)" : "") : null],
    // the top label's score only where no positive score is shown (beside one it misleads)
    ["Highest score", record.label && positiveScoreOf(record) === null ? el("span", {}, userText(record.label), ` (${formatPercent(record.score)})`) : null],
    ["Positive label", rule ? userText(rule.positive) : null],
    ["Threshold", rule && typeof rule.threshold === "number" ? `${isolated(rule.positive)} when its score is at least ${number(rule.threshold, 4)}` : null],
    ["Uncertain band", band ? `${number(band[0], 4)} to ${number(band[1], 4)}: scores in it are labelled uncertain` : null],
    ["Distance", distance],
    ["Rule", record.decision_rule || null],
  ]);
}

/** An out-of-domain record's note: the card's sentence. @param {ApiRecord} record */
function outOfDomainNote(record) {
  const sentence = outOfDomainSentence(record);
  return sentence ? [el("p", { class: "ood-note" }, el("span", { class: "outcome outcome-out-of-domain", text: "out of domain" }), " ", sentence)] : [];
}

/** The known diagnosis (the researcher's own, from the batch's diagnoses file, or a sample photo's) and
 * whether the decision is right by the one rule (right, wrong or not assessed: a mark and a word).
 * @param {Entry} entry */
function truthFacts(entry) {
  const known = knownTruthOf(entry);
  const verdict = known ? verdictOf(entry.record, known.truth) : null;
  if (!known || !verdict) return [];
  return [el("h3", { text: known.source === "batch" ? "Your diagnosis" : "Known diagnosis" }), facts([
    ["Diagnosis", el("span", {}, userText(known.text))],
    ["Verdict", el("span", {}, el("span", { class: `verdict verdict-${verdict}`, text: verdictText(verdict) }),
      el("span", { class: "meta", text: `${rightRule()}.` }))],
  ])];
}

/** BOXES_FOLDED or more boxes are listed folded (a detector keeps up to 300). */
const BOXES_FOLDED = 13;

/** What a detector found: the counts, the tiles, and every box in words (the drawing is hidden from
 * screen readers; this list says the same). @param {ApiRecord} record */
function objectFacts(record) {
  const pairs = countPairs(record.counts);
  const tiles = typeof record.tiles === "number" && record.tiles > 0 ? record.tiles : 0;
  const boxes = boxesOf(record);
  /** @type {Node[]} */
  const out = [facts([
    ["Counted", pairs.length ? el("span", {}, countsNodes(pairs)) : "nothing found"],
    ["In all", objectsText(objectCount(record))],
    ["Most counted", record.label ? el("span", {}, userText(record.label), typeof record.score === "number" ? ` (best score ${formatPercent(record.score)})` : "") : null],
    ["Detected on", tiles ? `the whole photo and ${tiles} tile${tiles === 1 ? "" : "s"}` : "the whole photo"],
    ["Tiling", record.tiling ? String(record.tiling) : null],
  ])];
  if (boxes.length) {
    const list = el("ol", { class: "detections", "aria-label": "Boxes, highest score first, as parts of the photo's width and height" },
      boxes.map(describedBox));
    const heading = `Boxes (${boxes.length}), highest score first`;
    out.push(boxes.length < BOXES_FOLDED ? el("div", {}, el("h4", { text: heading }), list)
      : el("details", { class: "more" }, el("summary", { text: heading }), list));
  }
  return out;
}

/** @param {ApiRecord} record */
function captureFacts(record) {
  const place = typeof record.latitude === "number" && typeof record.longitude === "number"
    ? `${number(record.latitude, 6)}, ${number(record.longitude, 6)}${typeof record.altitude === "number" ? ` (altitude ${number(record.altitude, 1)} m)` : ""}`
    : null;
  // captured_at: a UTC instant; captured_at_local: the camera's clock when it recorded no offset
  const captured = record.captured_at
    ? formatDateTime(record.captured_at)
    : record.captured_at_local
      ? `${String(record.captured_at_local).replace("T", " ").replace(/\.000$/, "")} (camera's local time, offset unknown)`
      : null;
  return facts([
    ["Captured", captured],
    ["Place", place],
    ["Camera", record.camera ? String(record.camera) : null],
  ]);
}

/**
 * A part of the dialog, checked once.
 * @template {Element} T
 * @param {HTMLDialogElement} dialog @param {string} selector @param {{new (): T, prototype: T}} kind
 * @returns {T}
 */
function part(dialog, selector, kind) {
  const node = dialog.querySelector(selector);
  if (!(node instanceof kind)) throw new Error(`index.html: ${selector} is missing from the detail dialog`);
  return node;
}

export class DetailView {
  /**
   * @param {HTMLDialogElement} dialog
   * @param {{getCard: () => Card | null, getVisible: () => Entry[]}} hooks
   */
  constructor(dialog, { getCard, getVisible }) {
    this.dialog = dialog;
    this.getCard = getCard;
    this.getVisible = getVisible;
    /** @type {Entry | null} */
    this.entry = null;
    /** @type {Element | null} */
    this.returnFocus = null;
    this.title = part(dialog, "#detail-title", HTMLElement);
    this.position = part(dialog, "#detail-position", HTMLElement);
    this.figure = part(dialog, "#detail-figure", HTMLElement);
    this.facts = part(dialog, "#detail-facts", HTMLElement);
    this.prev = part(dialog, "#detail-prev", HTMLButtonElement);
    this.next = part(dialog, "#detail-next", HTMLButtonElement);
    // Boxes over a detector's image: on by default each time the dialog opens, kept while arrows move.
    this.boxesToggle = part(dialog, "#detail-boxes", HTMLButtonElement);
    this.tools = /** @type {HTMLElement} */ (this.boxesToggle.parentElement);
    this.showBoxes = true;
    /** @type {HTMLElement | null} */
    this.overlay = null;
    this.boxesToggle.addEventListener("click", () => {
      this.showBoxes = !this.showBoxes;
      this.applyBoxes();
    });
    part(dialog, "#detail-close", HTMLButtonElement).addEventListener("click", () => dialog.close());
    this.prev.addEventListener("click", () => this.move(-1));
    this.next.addEventListener("click", () => this.move(1));
    dialog.addEventListener("keydown", (event) => {
      if (event.target instanceof Element && event.target.closest("input, select, textarea")) return;
      if (event.key === "ArrowRight" || event.key === "ArrowDown") this.move(1);
      else if (event.key === "ArrowLeft" || event.key === "ArrowUp") this.move(-1);
      else return;
      event.preventDefault();
    });
    // A click on the backdrop (outside the dialog's box) closes it too.
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener("close", () => {
      const back = this.returnFocus;
      this.entry = null;
      if (back instanceof HTMLElement && back.isConnected) back.focus();
    });
  }

  /** @param {Entry} entry */
  open(entry) {
    if (!this.dialog.open) {
      this.returnFocus = document.activeElement;
      this.showBoxes = true;
    }
    this.show(entry);
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** @param {number} step */
  move(step) {
    const visible = this.getVisible();
    const at = this.entry ? visible.indexOf(this.entry) : -1;
    if (at < 0 || visible.length === 0) return;
    const next = visible[(at + step + visible.length) % visible.length];
    // focus returns to the row now shown, not the one first opened
    const button = document.querySelector(`#results-body tr[data-id="${next.id}"] .file-name`);
    if (button) this.returnFocus = button;
    this.show(next);
  }

  /** @param {Entry} entry */
  show(entry) {
    this.entry = entry;
    const card = this.getCard() || {};
    /** @type {ApiRecord} */
    const record = entry.record || {};
    const visible = this.getVisible();
    const at = visible.indexOf(entry);
    this.title.replaceChildren(userText(entry.name));
    this.position.textContent = at >= 0
      ? `Image ${at + 1} of ${visible.length} shown. Arrow keys move to the next or previous one; Esc closes.` : "";
    const figure = clear(this.figure);
    const src = safeImageUrl(entry.previewUrl) || safeImageUrl(record.image_url);
    const detection = entry.status === STATUS.OK && isDetection(record);
    const boxes = detection ? boxesOf(record) : [];
    this.overlay = null;
    if (src) {
      const img = el("img", { src, alt: `${entry.name}, full view`, decoding: "async" });
      if (boxes.length) {
        // the frame is as large as the image shown, so boxes placed in % of it land on the photo
        this.overlay = el("div", { class: "boxes", "aria-hidden": "true" }, boxes.map(drawnBox));
        figure.append(el("div", { class: "boxes-frame" }, img, this.overlay));
      } else {
        figure.append(img);
      }
    } else {
      figure.append(el("p", { class: "no-preview large", text: "No image to show" }));
    }
    if (detection) {
      const pairs = countPairs(record.counts);
      figure.append(el("figcaption", { class: "meta" }, objectsText(objectCount(record)),
        ...(pairs.length ? [": ", ...countsNodes(pairs)] : [" found"])));
    }
    this.setToolsShown(Boolean(this.overlay));
    this.applyBoxes();

    const factsBox = clear(this.facts);
    factsBox.append(el("p", {}, el("span", { class: `badge badge-${entry.status}`, text: statusText(entry.status) })));
    const reason = reasonOf(entry);
    if (reason) factsBox.append(el("p", { class: "reason" }, withUserText(reason, [entry.name, record.file_name])));
    if (detection) {
      factsBox.append(el("h3", { text: "Objects" }), ...objectFacts(record));
    } else if (entry.status === STATUS.OK) {
      factsBox.append(el("h3", { text: "Decision" }), ...outOfDomainNote(record), decisionFacts(record, card), ...truthFacts(entry),
        el("h3", { text: "Scores" }), ...scoresTable(record, card));
    }
    const dims = record.width && record.height ? `${record.width} × ${record.height} pixels` : null;
    factsBox.append(el("h3", { text: "Image" }), facts([
      ["Size", formatBytes(record.size || entry.size) || null],
      ["Pixels", dims],
      ["Format", record.format ? `${record.format}${(record.frames || 0) > 1 ? `, ${record.frames} frames` : ""}` : null],
      ["Uploaded", record.uploaded_at ? formatDateTime(record.uploaded_at) : null],
      ["Classified", record.classified_at && entry.status === STATUS.OK ? formatDateTime(record.classified_at) : null],
    ]));
    const capture = captureFacts(record);
    if (capture.children.length) factsBox.append(el("h3", { text: "Capture" }), capture);
    else factsBox.append(el("h3", { text: "Capture" }), el("p", { class: "muted", text: "The file carries no capture time, place or camera." }));
    factsBox.append(el("h3", { text: "Model" }), facts([
      ["Model", record.model_name ? `${record.model_name} version ${record.model_version}` : (card.name ? `${card.name} version ${card.version}` : null)],
    ]));
    const visibleCount = visible.length;
    this.prev.disabled = visibleCount < 2;
    this.next.disabled = visibleCount < 2;
  }

  /** The toggle is there only for an image with boxes; focus on it, when it goes, moves to Close.
   * @param {boolean} shown */
  setToolsShown(shown) {
    if (!shown && document.activeElement === this.boxesToggle) {
      const close = this.dialog.querySelector("#detail-close");
      if (close instanceof HTMLElement) close.focus();
    }
    this.tools.hidden = !shown;
  }

  applyBoxes() {
    this.boxesToggle.setAttribute("aria-pressed", String(this.showBoxes));
    if (this.overlay) this.overlay.hidden = !this.showBoxes;
  }
}
