// @ts-check
// The results table: one row per file, filled in as uploads progress and predictions arrive.

import { el, clear, safeImageUrl, formatBytes, formatPercent, formatDateTime, userText, withUserText, breakableName } from "./dom.js";
import { outcomeOf, decisionRank, positiveScoreOf, positiveScoreParts, outOfDomainShort, knownTruthOf, verdictOf, verdictText } from "./decisions.js";
import { isDetection, countPairs, countsNodes, objectCount, objectsText } from "./counts.js";
import { STATUS, ACTIVE, PROBLEM, statusText } from "./status.js";
import { canRetry } from "./store.js";

/** @typedef {import("./store.js").Entry} Entry */
/**
 * @typedef {{tr: HTMLTableRowElement, cells: Record<string, HTMLTableCellElement>, imageSrc: string | null | undefined,
 *   progress: HTMLProgressElement | null, progressText: HTMLElement | null, reasonText?: HTMLElement | null,
 *   reasonToggle?: HTMLButtonElement | null, reasonOpen?: boolean}} Row
 */

const REASON_SPAN = ["label", "score", "top"]; // the columns a row's reason takes the place of

/** Why a file came to nothing ("" for the others). @param {Pick<Entry, "status" | "message" | "record">} entry */
export function reasonOf(entry) {
  if (entry.status === STATUS.REJECTED) return (entry.record && entry.record.reason) || "the image could not be classified";
  if (entry.status === STATUS.REFUSED) return entry.message || (entry.record && entry.record.reason) || "";
  if (entry.status === STATUS.FAILED) return entry.message || "";
  return "";
}

/** @param {Entry} entry */
function uploadPercent(entry) {
  const fraction = (entry.loaded || 0) / (entry.total || entry.size || 1);
  return `${Math.floor(Math.max(0, Math.min(1, fraction)) * 100)}%`;
}

/** @param {Entry} entry */
function entryTime(entry) {
  /** @type {import("./store.js").ApiRecord} */
  const record = entry.record || {};
  const iso = record.classified_at || record.uploaded_at;
  const time = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(time) ? entry.addedAt : time;
}

/** @param {Entry} entry */
function searchableText(entry) {
  /** @type {import("./store.js").ApiRecord} */
  const record = entry.record || {};
  const counted = isDetection(record) ? countPairs(record.counts).map(([label]) => label) : []; // "dog" finds photos with dogs
  const outcome = entry.status === STATUS.OK ? outcomeOf(entry).text : ""; // "out of domain" as shown
  const known = entry.status === STATUS.OK ? knownTruthOf(entry) : null; // "wrong" finds the wrong ones
  const verdict = known ? verdictOf(record, known.truth) : null;
  return [entry.name, record.label, record.decision, outcome, entry.status, statusText(entry.status), reasonOf(entry), ...counted,
    ...(known && verdict ? [known.truth, verdictText(verdict)] : [])]
    .filter(Boolean).join(" ").toLowerCase();
}

/** Entries matching the text filter (every word must appear) and the status group ("", "ok", "problem", "active").
 * @param {Entry[]} entries @param {string} text @param {string} group */
export function filterEntries(entries, text, group) {
  const words = String(text || "").toLowerCase().split(/\s+/).filter(Boolean);
  return entries.filter((entry) => {
    if (group === "ok" && entry.status !== STATUS.OK) return false;
    if (group === "problem" && !PROBLEM.has(entry.status)) return false;
    if (group === "active" && !ACTIVE.has(entry.status)) return false;
    if (words.length === 0) return true;
    const haystack = searchableText(entry);
    return words.every((word) => haystack.includes(word));
  });
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** The number a row's confidence shows and sorts by: the positive label's score where the card has one,
 * else the top label's. @param {Entry} e */
function confidenceOf(e) {
  if (e.status !== STATUS.OK || !e.record) return null;
  const positive = positiveScoreOf(e.record);
  if (positive !== null) return positive;
  return typeof e.record.score === "number" ? e.record.score : null;
}

/** @typedef {string | number | [number, string] | null | undefined} SortValue */
/** @type {Record<string, (entry: Entry) => SortValue>} */
const SORT_KEYS = {
  name: (e) => e.name,
  label: decisionRank, // the positive decision, uncertain, the other label, out of domain, rejected, refused
  score: confidenceOf,
  count: (e) => (e.status === STATUS.OK && e.record && isDetection(e.record) ? objectCount(e.record) : null),
  time: entryTime,
  status: (e) => statusText(e.status),
};

/** @type {Record<string, "ascending" | "descending">} */
export const SORT_FIRST_DIRECTION = { name: "ascending", label: "ascending", status: "ascending", score: "descending", count: "descending", time: "descending" };

/** @param {Exclude<SortValue, null | undefined>} a @param {Exclude<SortValue, null | undefined>} b @returns {number} */
function compareValues(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) return a[0] - b[0] || collator.compare(a[1], b[1]);
  if (typeof a === "number" && typeof b === "number") return a - b;
  return collator.compare(String(a), String(b));
}

/** A sorted copy; missing values last whichever the direction; ties keep the order of arrival.
 * @param {Entry[]} entries @param {string | null} key @param {string} direction */
export function sortEntries(entries, key, direction) {
  const value = key ? SORT_KEYS[key] : undefined;
  if (!value) return entries.slice();
  const sign = direction === "descending" ? -1 : 1;
  return entries
    .map((entry, index) => ({ entry, index, v: value(entry) }))
    .sort((a, b) => {
      const aMissing = a.v === null || a.v === undefined || a.v === "";
      const bMissing = b.v === null || b.v === undefined || b.v === "";
      if (aMissing || bMissing) return aMissing === bMissing ? a.index - b.index : aMissing ? 1 : -1;
      const order = compareValues(/** @type {Exclude<SortValue, null | undefined>} */ (a.v), /** @type {Exclude<SortValue, null | undefined>} */ (b.v));
      return order !== 0 ? sign * order : a.index - b.index;
    })
    .map((item) => item.entry);
}

/** "640×480 jpeg" @param {import("./store.js").ApiRecord} record */
function describeImage(record) {
  /** @type {string[]} */
  const parts = [];
  if (record.width && record.height) parts.push(`${record.width}×${record.height}`);
  if (record.format) parts.push(String(record.format));
  return parts.join(" ");
}

export class ResultsView {
  /**
   * @param {{table: HTMLTableElement, body: HTMLTableSectionElement, empty: HTMLElement, count: HTMLElement,
   *   onOpen?: ((entry: Entry) => void) | null, onRender?: ((visible: Entry[]) => void) | null,
   *   onRetry?: ((entry: Entry) => void) | null}} options
   */
  constructor({ table, body, empty, count, onOpen = null, onRender = null, onRetry = null }) {
    this.table = table;
    this.onRetry = onRetry; // (entry) => send a failed file again
    this.onOpen = onOpen; // (entry) => open the detail view
    this.onRender = onRender; // (visible entries) => after the rows changed
    /** @type {Entry[]} */
    this.visible = [];
    this.body = body;
    this.empty = empty;
    this.count = count;
    /** @type {Map<string, Row>} */
    this.rows = new Map(); // entry.id -> {tr, cells, imageSrc, progress}
    /** @type {Entry[]} */
    this.entries = [];
    this.filterText = "";
    this.filterGroup = "";
    /** @type {string | null} */
    this.sortKey = null;
    this.sortDirection = "ascending";
    // The Objects column is shown only while the batch has an object detector's records, and Top predictions
    // (a classifier's) is left out while none of them has any: a detector's batch is no wider than before.
    this.countHeader = /** @type {HTMLElement | null} */ (table.querySelector("thead th.col-count"));
    this.topHeader = /** @type {HTMLElement | null} */ (table.querySelector("thead th.col-top"));
    this.detect = false;
    this.noTop = false;
    /** @type {Set<Entry>} */
    this.dirty = new Set();
    this.orderDirty = true;
    this.scheduled = false;
    this.measuring = false;
    window.addEventListener("resize", () => this.measureSoon());

    for (const button of table.querySelectorAll("th button[data-sort]")) {
      if (button instanceof HTMLElement) button.addEventListener("click", () => this.sortBy(button.dataset.sort || ""));
    }
    // A click anywhere on a row opens it (the file name is its keyboard target: a button).
    body.addEventListener("click", (event) => {
      if (!(event.target instanceof Element) || event.target.closest("button, a, input, select, progress")) return;
      const tr = /** @type {HTMLElement | null} */ (event.target.closest("tr[data-id]"));
      const entry = tr && this.entries.find((e) => e.id === tr.dataset.id);
      if (entry && this.onOpen) this.onOpen(entry);
    });
  }

  /** @param {Entry[]} entries */
  setEntries(entries) {
    this.entries = entries;
    for (const [id, row] of this.rows) {
      if (!entries.some((e) => e.id === id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    this.orderDirty = true;
    this.schedule();
  }

  /** An entry changed (status, record): redraw its row and re-sort/filter. */
  /** @param {Entry} entry */
  update(entry) {
    this.dirty.add(entry);
    this.orderDirty = true;
    this.schedule();
  }

  /** Upload progress only: update the row's progress bar in place. */
  /** @param {Entry} entry */
  progress(entry) {
    const row = this.rows.get(entry.id);
    if (row && row.progress) {
      row.progress.max = entry.total || entry.size || 1;
      row.progress.value = entry.loaded || 0;
      if (row.progressText) row.progressText.textContent = uploadPercent(entry);
    }
  }

  /** @param {string} text @param {string} group */
  setFilter(text, group) {
    this.filterText = text;
    this.filterGroup = group;
    this.orderDirty = true;
    this.schedule();
  }

  /** @param {string} key */
  sortBy(key) {
    if (this.sortKey === key) {
      this.sortDirection = this.sortDirection === "ascending" ? "descending" : "ascending";
    } else {
      this.sortKey = key;
      this.sortDirection = SORT_FIRST_DIRECTION[key] || "ascending";
    }
    for (const th of this.table.querySelectorAll("thead th")) {
      const button = /** @type {HTMLElement | null} */ (th.querySelector("button[data-sort]"));
      if (!button) continue;
      if (button.dataset.sort === this.sortKey) th.setAttribute("aria-sort", this.sortDirection);
      else th.removeAttribute("aria-sort");
    }
    this.orderDirty = true;
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    if (document.hidden) setTimeout(run, 50);
    else requestAnimationFrame(run);
  }

  flush() {
    for (const entry of this.dirty) {
      const row = this.rows.get(entry.id);
      if (row) this.fill(row, entry);
    }
    this.dirty.clear();
    if (!this.orderDirty) return;
    this.orderDirty = false;
    const detect = this.entries.some((entry) => isDetection(entry.record));
    const noTop = detect && !this.entries.some((entry) => Array.isArray(entry.record?.top) && entry.record.top.length > 0);
    if (detect !== this.detect || noTop !== this.noTop) {
      this.detect = detect;
      this.noTop = noTop;
      if (this.countHeader) this.countHeader.hidden = !detect;
      if (this.topHeader) this.topHeader.hidden = noTop;
      for (const entry of this.entries) {
        const row = this.rows.get(entry.id);
        if (row) this.fill(row, entry);
      }
    }
    const visible = sortEntries(filterEntries(this.entries, this.filterText, this.filterGroup), this.sortKey, this.sortDirection);
    this.visible = visible;
    const wanted = visible.map((entry) => this.rowFor(entry).tr);
    const current = /** @type {HTMLTableRowElement[]} */ (Array.from(this.body.children));
    const same = wanted.length === current.length && wanted.every((tr, i) => tr === current[i]);
    if (!same) {
      for (const tr of current) if (!wanted.includes(tr)) tr.remove();
      wanted.forEach((tr, i) => {
        if (this.body.children[i] !== tr) this.body.insertBefore(tr, this.body.children[i] || null);
      });
    }
    this.empty.hidden = this.entries.length > 0;
    this.table.hidden = this.entries.length === 0;
    this.count.textContent = this.entries.length === 0 ? ""
      : visible.length === this.entries.length ? `${this.entries.length} file${this.entries.length === 1 ? "" : "s"}`
        : `Showing ${visible.length} of ${this.entries.length} files`;
    if (this.onRender) this.onRender(visible);
    this.measureSoon(); // rows shown again by a filter, or moved, are measured in place
  }

  /** After layout: offer "Show all" only on reasons the three-line limit cut. */
  measureSoon() {
    if (this.measuring) return;
    this.measuring = true;
    requestAnimationFrame(() => {
      this.measuring = false;
      for (const row of this.rows.values()) {
        if (!row.reasonToggle || !row.reasonText || !row.tr.isConnected || row.reasonOpen) continue;
        const text = row.reasonText;
        row.reasonToggle.hidden = text.scrollHeight <= text.clientHeight + 1;
      }
    });
  }

  /** @param {Entry} entry @returns {Row} */
  rowFor(entry) {
    let row = this.rows.get(entry.id);
    if (row) return row;
    // `reason` stands in for the decision, confidence and top-prediction cells (empty for a file that was
    // refused, rejected or failed) and spans their width, so a long reason stays a few lines, not a tower.
    // `count` (an object detector's records only) sits before `reason`, so the reason still spans exactly
    // the decision, confidence and top-prediction columns.
    const names = ["image", "name", "status", "count", "reason", "label", "score", "top", "time"];
    /** @type {Record<string, string>} */
    const headings = { image: "Image", name: "File", status: "Status", count: "Objects", reason: "Reason", label: "Decision", score: "Score", top: "Top predictions", time: "Time" };
    /** @type {Record<string, HTMLTableCellElement>} */
    const cells = {};
    const tr = el("tr", { "data-id": entry.id });
    for (const name of names) {
      cells[name] = el(name === "name" ? "th" : "td", { class: `col-${name}`, "data-label": headings[name], scope: name === "name" ? "row" : null });
      tr.append(cells[name]);
    }
    cells.reason.hidden = true;
    row = { tr, cells, imageSrc: undefined, progress: null, progressText: null };
    this.rows.set(entry.id, row);
    this.fill(row, entry);
    return row;
  }

  /** @param {Row} row @param {Entry} entry */
  fill(row, entry) {
    const { cells } = row;
    /** @type {import("./store.js").ApiRecord} */
    const record = entry.record || {};
    row.tr.dataset.status = entry.status;

    const src = safeImageUrl(entry.previewUrl) || safeImageUrl(record.image_url);
    if (src !== row.imageSrc) {
      row.imageSrc = src;
      clear(cells.image);
      if (src) {
        const img = el("img", { src, alt: `Preview of ${entry.name}`, loading: "lazy", decoding: "async", width: 96, height: 96 });
        img.addEventListener("error", () => {
          img.replaceWith(el("span", { class: "no-preview", text: "No preview" }));
        }, { once: true });
        cells.image.append(img);
      } else {
        cells.image.append(el("span", { class: "no-preview", text: "No preview" }));
      }
    }

    clear(cells.name);
    const meta = [formatBytes(record.size || entry.size), describeImage(record)].filter(Boolean).join(" · ");
    const open = el("button", { type: "button", class: "file-name link-button", "aria-haspopup": "dialog", title: "Open this image with every score" }, breakableName(entry.name));
    open.addEventListener("click", () => this.onOpen && this.onOpen(entry));
    cells.name.append(open, ...(meta ? [el("span", { class: "meta", text: meta })] : []));

    clear(cells.status);
    cells.status.append(el("span", { class: `badge badge-${entry.status}`, text: statusText(entry.status) }));
    row.progress = null;
    row.progressText = null;
    if (entry.status === STATUS.UPLOADING) {
      row.progress = el("progress", { max: entry.total || entry.size || 1, value: entry.loaded || 0, "aria-label": `Upload of ${entry.name}` });
      row.progressText = el("span", { class: "meta", text: uploadPercent(entry) });
      cells.status.append(row.progress, row.progressText);
    }
    if (canRetry(entry) && this.onRetry) {
      const onRetry = this.onRetry;
      const retry = el("button", { type: "button", class: "button secondary small retry", "aria-label": `Retry uploading ${entry.name}` }, "Retry");
      retry.addEventListener("click", () => onRetry(entry));
      cells.status.append(retry);
    }
    const reason = reasonOf(entry);
    clear(cells.reason);
    cells.reason.hidden = !reason;
    cells.count.hidden = !this.detect;
    const spanned = REASON_SPAN.filter((name) => !(name === "top" && this.noTop));
    cells.reason.colSpan = spanned.length;
    for (const name of REASON_SPAN) cells[name].hidden = Boolean(reason) || (name === "top" && this.noTop);
    row.reasonText = null;
    row.reasonToggle = null;
    if (reason) {
      // At most three lines (CSS); "Show all" appears only when that cut something, and the detail view
      // has it too. Clipped text stays in the accessibility tree, so a screen reader reads all of it.
      // the API quotes the file name in its words: isolated, so a U+202E in it reverses nothing around it
      const text = el("span", { class: `reason${row.reasonOpen ? "" : " clamped"}`, id: `reason-${entry.id}` },
        withUserText(reason, [entry.name, record.file_name]));
      const toggle = el("button", { type: "button", class: "link-button reason-toggle", "aria-controls": text.id,
        "aria-expanded": String(Boolean(row.reasonOpen)), hidden: !row.reasonOpen }, row.reasonOpen ? "Show less" : "Show all");
      toggle.addEventListener("click", () => {
        row.reasonOpen = !row.reasonOpen;
        text.classList.toggle("clamped", !row.reasonOpen);
        toggle.setAttribute("aria-expanded", String(row.reasonOpen));
        toggle.textContent = row.reasonOpen ? "Show less" : "Show all";
      });
      row.reasonText = text;
      row.reasonToggle = toggle;
      cells.reason.append(el("span", { class: "visually-hidden", text: "Reason: " }), text, toggle);
      this.measureSoon();
    }

    clear(cells.count);
    if (entry.status === STATUS.OK && isDetection(record)) {
      const pairs = countPairs(record.counts);
      cells.count.append(el("span", { class: "count", text: objectsText(objectCount(record)) }),
        el("span", { class: "meta" }, pairs.length ? countsNodes(pairs) : "none found"));
    }

    clear(cells.label);
    row.tr.dataset.outcome = "";
    if (entry.status === STATUS.OK) {
      const outcome = outcomeOf(entry);
      row.tr.dataset.outcome = outcome.key;
      cells.label.append(el("span", { class: `label outcome outcome-${outcome.kind} user-text`, dir: "auto", text: outcome.text }));
      const outside = outOfDomainShort(record);
      if (outside) cells.label.append(el("span", { class: "meta ood-note", text: outside }));
      // the top label's name only where no positive score is shown: beside one it reads as the decision's
      else if (outcome.text !== String(record.label) && positiveScoreOf(record) === null) {
        cells.label.append(el("span", { class: "meta" }, "highest score: ", userText(record.label)));
      }
      const known = knownTruthOf(entry);
      const verdict = known ? verdictOf(record, known.truth) : null;
      if (known && verdict) { // a mark and a word: never the colour alone
        cells.label.append(el("span", { class: "meta truth" }, known.source === "batch" ? "your diagnosis: " : "diagnosis: ",
          userText(known.truth), " ", el("span", { class: `verdict verdict-${verdict}`, text: verdictText(verdict) })));
      }
    }

    clear(cells.score);
    const positive = entry.status === STATUS.OK ? positiveScoreParts(record) : null;
    const confidence = confidenceOf(entry);
    if (confidence !== null) {
      const pct = Math.max(0, Math.min(1, confidence));
      // "malignant 0.42, threshold 0.30" (wrapping before "threshold"), or a card without a positive label's "87%"
      const shown = positive
        ? [el("span", { class: "score-value" }, userText(positive.label), ` ${positive.score},`), " ",
          el("span", { class: "score-threshold", text: `threshold ${positive.threshold}` })]
        : [formatPercent(confidence)];
      cells.score.append(el("span", { class: "score" }, ...shown),
        el("span", { class: "bar", "aria-hidden": "true" }, el("span", { style: `width:${(pct * 100).toFixed(1)}%` })));
    }

    clear(cells.top);
    if (entry.status === STATUS.OK && Array.isArray(record.top) && record.top.length > 0) {
      cells.top.append(el("ol", { class: "top" }, record.top.map((item) =>
        el("li", {}, userText(item && item.label), " ", el("span", { class: "meta", text: formatPercent(item && item.score) })))));
    }

    clear(cells.time);
    const iso = record.classified_at || record.uploaded_at;
    if (iso) {
      // the date and the time of day each kept whole, on one line where there is room, else on two
      const text = formatDateTime(iso);
      const cut = text.lastIndexOf(", ");
      const parts = cut > 0 ? [el("span", { class: "nowrap", text: text.slice(0, cut + 1) }), " ", el("span", { class: "nowrap", text: text.slice(cut + 2) })] : [text];
      cells.time.append(el("time", { datetime: String(iso), title: String(iso) }, parts));
    }
  }
}
