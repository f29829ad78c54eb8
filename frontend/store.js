// @ts-check
// The page's state in one place: the batch on screen, its files (entries) and the polling bookkeeping,
// with the pure rules over them (counts, the progress sentence, how a record from the API updates an
// entry). Views read it; app.js changes it.

import { STATUS, statusOfRecord } from "./status.js";

/** @typedef {import("./status.js").Status} Status */

/**
 * A record from the API (GET /predictions): only the fields the page reads are named.
 * @typedef {{
 *   object_id?: string, status?: string, reason?: string, file_name?: string, key?: string, size?: number,
 *   label?: string, decision?: string, score?: number, top?: Array<{label?: string, score?: number}>,
 *   classified_at?: string, uploaded_at?: string, image_url?: string, width?: number, height?: number,
 *   format?: string, frames?: number, decision_rule?: string, positive_score?: number, domain_distance?: number, captured_at?: string, captured_at_local?: string,
 *   latitude?: number, longitude?: number, altitude?: number, camera?: string,
 *   model_name?: string, model_version?: string, truth?: string | null,
 *   task?: string, counts?: Record<string, number>, objects?: number, tiles?: number, tiling?: string,
 *   detections?: Array<{label?: string, score?: number, box?: number[]}>,
 * }} ApiRecord
 */

/** A presigned POST for one file (POST /uploads). @typedef {{url: string, fields?: Record<string, string>, objectId: string, key?: string, name?: string}} Upload */

/**
 * One file of the batch on screen: picked here, or found in the API's records.
 * @typedef {{
 *   id: string, name: string, size: number, type: string, file: File | null, previewUrl: string | null,
 *   status: Status, loaded: number, total: number, message: string, objectId: string | null,
 *   upload: Upload | null, retried: boolean, addedAt: number, record: ApiRecord | null,
 *   key?: string, uploadedAt?: number, sample?: boolean,
 * }} Entry
 */

/**
 * @typedef {{
 *   api: import("./api.js").Api | null,
 *   batch: string | null,
 *   entries: Entry[],
 *   byObjectId: Map<string, Entry>,
 *   nextId: number,
 *   pollTimer: ReturnType<typeof setTimeout> | null,
 *   polling: boolean,
 *   lastNews: number,
 *   pollFailures: number,
 *   reopened: boolean,
 *   reorder: boolean,
 *   lookedUp: boolean,
 *   checkedGone: boolean,
 *   maxBytes: number | null,
 *   card: Record<string, unknown> | null,
 *   storage: Storage | null,
 * }} State
 */

/** @returns {State} */
export function createState() {
  return {
    api: null,
    batch: null,
    entries: [],
    byObjectId: new Map(),
    nextId: 1,
    pollTimer: null,
    polling: false,
    lastNews: 0,
    pollFailures: 0,
    reopened: false,
    reorder: false, // rows came from the API's records: to be placed in the batch's one order
    lookedUp: false, // a batch opened by its id had its first look (gone? its score?)
    checkedGone: false, // the batch was looked up for having no records (deleted, or never used)
    maxBytes: null,
    card: null,
    storage: null, // localStorage with sign-in off, sessionStorage with it on
  };
}

/** A new entry for a file picked or dropped here.
 * @param {File} file @param {string} id @param {string | null} previewUrl @param {number} now
 * @returns {Entry} */
export function entryForFile(file, id, previewUrl, now) {
  return {
    id, name: file.name, size: file.size, type: file.type || "", file, previewUrl, status: STATUS.QUEUED,
    loaded: 0, total: file.size, message: "", objectId: null, upload: null, retried: false, addedAt: now, record: null,
  };
}

/** An entry for a file of this batch uploaded elsewhere (another tab, or this page reloaded).
 * @param {ApiRecord & {object_id: string}} record @param {number} now
 * @returns {Entry} */
export function entryForRecord(record, now) {
  return {
    id: `r${record.object_id}`, name: record.file_name || record.key || record.object_id, size: /** @type {number} */ (record.size),
    type: "", file: null, previewUrl: null, status: STATUS.PENDING, loaded: 0, total: 0, message: "",
    objectId: record.object_id, upload: null, retried: true, addedAt: now, record: null,
  };
}

/** Whether `record` is at least as new as what `entry` holds (by classified_at).
 * @param {Entry} entry @param {ApiRecord} record */
export function isNewer(entry, record) {
  return !entry.record || String(record.classified_at || "") >= String(entry.record.classified_at || "");
}

/** Apply a record to its entry; true when something a reader would see changed. Every reply signs the
 * image link anew: that alone is not news (or polling would never give up).
 * @param {Entry} entry @param {ApiRecord} record */
export function mergeRecord(entry, record) {
  const comparable = () => JSON.stringify([entry.status, { ...entry.record, image_url: undefined }]);
  const before = entry.record ? comparable() : null;
  entry.record = record;
  if (entry.status !== STATUS.UPLOADING && entry.status !== STATUS.QUEUED) {
    entry.status = statusOfRecord(record.status);
    if (record.status === STATUS.REFUSED && !entry.message) entry.message = String(record.reason || "");
  }
  if (record.file_name && !entry.file) entry.name = String(record.file_name); // the name as chosen, from the record
  return before !== comparable();
}

/** @typedef {Record<Status, number> & {total: number, bytes: number, sent: number}} Counts */

/** How many entries stand where, and the bytes to send and sent.
 * @param {Entry[]} entries @returns {Counts} */
export function counts(entries) {
  /** @type {Counts} */
  const c = { total: entries.length, queued: 0, uploading: 0, pending: 0, ok: 0, rejected: 0, refused: 0, failed: 0, bytes: 0, sent: 0 };
  for (const entry of entries) {
    c[entry.status] = (c[entry.status] || 0) + 1;
    if (entry.status !== STATUS.REFUSED && entry.file) {
      c.bytes += entry.size;
      c.sent += entry.status === STATUS.QUEUED ? 0 : entry.status === STATUS.UPLOADING ? entry.loaded || 0 : entry.status === STATUS.FAILED ? 0 : entry.size;
    }
  }
  return c;
}

/** Files uploaded so far (not refused, waiting, uploading or failed). @param {Counts} c */
export function uploadedCount(c) {
  return c.total - c.refused - c.queued - c.uploading - c.failed;
}

/** The progress sentence for the live region, e.g. "3 of 4 uploaded, 2 of 3 classified (2 ok, 0 rejected).";
 * with failed uploads, "0 of 2 uploaded, 2 failed" first, ending in ":" when a Retry button follows it.
 * @param {Counts} c @param {boolean} [retryable] whether the failed files can be sent again */
export function progressSummary(c, retryable = false) {
  if (c.total === 0) return "";
  const toUpload = c.total - c.refused;
  const uploaded = toUpload - c.queued - c.uploading - c.failed;
  const done = c.ok + c.rejected;
  const parts = [`${uploaded} of ${toUpload} uploaded`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (uploaded > 0 || !c.failed) parts.push(`${done} of ${uploaded} classified (${c.ok} ok, ${c.rejected} rejected)`);
  if (c.refused) parts.push(`${c.refused} refused`);
  const finished = c.queued + c.uploading + c.pending === 0;
  return `${finished && !c.failed ? "All done: " : ""}${parts.join(", ")}${c.failed && retryable ? ":" : "."}`;
}

/** A file that may be sent again: its upload failed and the page still holds the file (not one cancelled
 * with its deleted batch). @param {Entry} entry */
export function canRetry(entry) {
  return entry.status === STATUS.FAILED && entry.file !== null;
}

/**
 * Files dropped or chosen, against the batch's entries: `fresh` to add, `again` (a file whose earlier
 * upload failed: the entry to send again with it) and `duplicates` (the same name and size as a file
 * already in the batch, or twice in this drop: not added again, and said so).
 * @param {Entry[]} entries @param {File[]} files
 * @returns {{fresh: File[], again: Array<{entry: Entry, file: File}>, duplicates: File[]}}
 */
export function sortOutDuplicates(entries, files) {
  /** @type {Map<string, Entry>} */
  const known = new Map();
  const key = (/** @type {string} */ name, /** @type {number} */ size) => `${size}\u0000${name}`;
  for (const entry of entries) known.set(key(entry.name, entry.size), entry);
  /** @type {File[]} */
  const fresh = [];
  /** @type {Array<{entry: Entry, file: File}>} */
  const again = [];
  /** @type {File[]} */
  const duplicates = [];
  const seen = new Set();
  for (const file of files) {
    const k = key(file.name, file.size);
    const entry = known.get(k);
    if (seen.has(k)) duplicates.push(file);
    else if (entry && entry.status === STATUS.FAILED) again.push({ entry, file });
    else if (entry) duplicates.push(file);
    else fresh.push(file);
    seen.add(k);
  }
  return { fresh, again, duplicates };
}

// ---- one row order: the order the files were chosen in, kept per batch in this browser ---------------
// The API lists a batch newest first and its keys are random, so the order chosen is kept here: the
// object ids of a batch in the order its files were chosen (localStorage, or sessionStorage when signed in).
// A reopened batch, a reload and the CSV follow it; files this browser did not choose come after, in the
// order they were uploaded (uploaded_at), then by name.

const ORDER_KEY = "spotter.order.v1";
const ORDER_BATCHES = 50; // batches whose order is kept (the latest used)
const ORDER_IDS = 10000; // ids kept per batch

/** @param {Storage | null} storage @returns {Array<{batch: string, ids: string[]}>} */
function loadOrders(storage) {
  try {
    const kept = JSON.parse((storage && storage.getItem(ORDER_KEY)) || "[]");
    return Array.isArray(kept) ? kept.filter((o) => o && typeof o.batch === "string" && Array.isArray(o.ids)) : [];
  } catch {
    return [];
  }
}

/** The object ids of `batch` in the order chosen, as kept in `storage` ([] when none).
 * @param {Storage | null} storage @param {string} batch @returns {string[]} */
export function loadOrder(storage, batch) {
  const found = loadOrders(storage).find((o) => o.batch === batch);
  return found ? found.ids.map(String) : [];
}

/** Keep the order of `batch` (object ids); `null` forgets it (a deleted batch).
 * @param {Storage | null} storage @param {string} batch @param {string[] | null} ids */
export function saveOrder(storage, batch, ids) {
  if (!storage) return;
  const others = loadOrders(storage).filter((o) => o.batch !== batch);
  const kept = ids ? [{ batch, ids: ids.slice(0, ORDER_IDS) }, ...others] : others;
  try {
    storage.setItem(ORDER_KEY, JSON.stringify(kept.slice(0, ORDER_BATCHES)));
  } catch {
    /* storage full or off: the order lasts as long as the tab */
  }
}

// The photos added with "Try the sample photos" (their diagnosis is known), per batch, by object id: a
// reload still marks them, and a researcher's own file that merely has a sample's name never is.
const SAMPLES_KEY = "spotter.samples.v1";

/** @param {Storage | null} storage @returns {Array<{batch: string, ids: string[]}>} */
function loadSampleLists(storage) {
  try {
    const kept = JSON.parse((storage && storage.getItem(SAMPLES_KEY)) || "[]");
    return Array.isArray(kept) ? kept.filter((o) => o && typeof o.batch === "string" && Array.isArray(o.ids)) : [];
  } catch {
    return [];
  }
}

/** The object ids of the sample photos added to `batch` with the samples button.
 * @param {Storage | null} storage @param {string} batch @returns {Set<string>} */
export function loadSampleIds(storage, batch) {
  const found = loadSampleLists(storage).find((o) => o.batch === batch);
  return new Set(found ? found.ids.map(String) : []);
}

/** Keep which photos of `batch` are samples; `null` forgets it (a deleted batch).
 * @param {Storage | null} storage @param {string} batch @param {Iterable<string> | null} ids */
export function saveSampleIds(storage, batch, ids) {
  if (!storage) return;
  const others = loadSampleLists(storage).filter((o) => o.batch !== batch);
  const list = ids ? [...ids] : [];
  const kept = list.length ? [{ batch, ids: list.slice(0, ORDER_IDS) }, ...others] : others;
  try {
    storage.setItem(SAMPLES_KEY, JSON.stringify(kept.slice(0, ORDER_BATCHES)));
  } catch {
    /* storage full or off: the samples' diagnoses last as long as the tab */
  }
}

const nameOrder = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** The entries in the batch's one order: those in `ids` (the order chosen) first, in that order; the rest
 * by upload time, then name; entries not uploaded yet keep their place relative to each other at the end.
 * @param {Entry[]} entries @param {string[]} ids @returns {Entry[]} */
export function inChosenOrder(entries, ids) {
  const at = new Map(ids.map((id, i) => [id, i]));
  const rank = (/** @type {Entry} */ e) => (e.objectId !== null && at.has(e.objectId) ? /** @type {number} */ (at.get(e.objectId)) : Infinity);
  const uploaded = (/** @type {Entry} */ e) => String((e.record && e.record.uploaded_at) || "\uffff");
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => {
      const ra = rank(a.entry);
      const rb = rank(b.entry);
      if (ra !== rb) return ra - rb;
      if (ra !== Infinity) return 0;
      const ua = uploaded(a.entry);
      const ub = uploaded(b.entry);
      if (ua !== ub) return ua < ub ? -1 : 1;
      if (!a.entry.record || !b.entry.record) return a.index - b.index;
      return nameOrder.compare(a.entry.name, b.entry.name) || a.index - b.index;
    })
    .map((item) => item.entry);
}

/** The batch named in a location hash ("#batch=..."), or null. @param {string} hash */
export function batchFromHash(hash) {
  return new URLSearchParams(hash.slice(1)).get("batch");
}
