// @ts-check
// Spotter's page: pick or drop images, upload them straight to S3, show predictions as they arrive.
// This module is the controller: it owns the state (store.js), runs uploads and polling, and tells the
// views (results, progress, header, detail, my batches) what changed.

import { Api, ApiError, loadConfig } from "./api.js";
import { Auth } from "./auth.js";
import { renderCard } from "./card.js";
import { formatBytes } from "./dom.js";
import { ResultsView } from "./results.js";
import { UploadQueue, postToS3 } from "./upload.js";
import { setCard, setOwnDiagnoses, summaryLine } from "./decisions.js";
import { DetailView } from "./detail.js";
import { BatchList } from "./batches.js";
import { STATUS, ACTIVE } from "./status.js";
import {
  createState, entryForFile, entryForRecord, isNewer, mergeRecord, batchFromHash, canRetry, sortOutDuplicates, loadOrder, saveOrder,
  inChosenOrder, loadSampleIds, saveSampleIds,
} from "./store.js";
import { findElements } from "./elements.js";
import { ProgressView } from "./progress.js";
import { wireDropZone } from "./dropzone.js";
import { wireDownloads, errorMessage } from "./downloads.js";
import { wireSamples } from "./samples.js";
import { showAlert, clearAlertFrom, enableUploads, renderAuth, wireAuth, showDisclaimer, showModelName } from "./header.js";
import { confirmDeletion, confirmText } from "./confirm.js";
import { wireScore, renderScore, sayScoreStatus, sayHeldStatus, forgetOldFileNotes, MAX_TRUTH_BYTES } from "./scoring.js";

/** @typedef {import("./store.js").Entry} Entry */
/** @typedef {import("./store.js").ApiRecord} ApiRecord */

const POLL_MS = 1500;
const GIVE_UP_MS = 5 * 60 * 1000; // stop polling after this long without a new prediction
const REOPENED_QUIET_MS = 30 * 1000; // a reopened batch is polled until nothing new arrives for this long
const CONCURRENCY = 4;
const LIST_REFRESH_MS = 5000; // "My batches" reads the server's counts at most this often when shown

const els = findElements();
const state = createState();
const progress = new ProgressView(els, state);

/** @type {ResultsView} */
let view;
/** @type {UploadQueue<Entry>} */
let queue;
/** @type {DetailView} */
let detail;
/** @type {BatchList | null} */
let batchList = null;
/** @type {{render: (entries: Entry[]) => void}} */
let samples = { render() {} };
/** @type {import("./api.js").BatchScore | null} the open batch scored against the researcher's diagnoses */
let score = null;
/** @type {Map<string, {batch: string, file: string, text: string, reply: import("./api.js").BatchScore}>} by batch,
 * the diagnoses file given in this tab, this session (only it is named, with what only the file says; applied
 * again to images added later, also after leaving the batch and opening it again from My batches) */
const appliedFiles = new Map();

/** The diagnoses file applied to `batch` in this tab, if any. @param {string | null} batch */
function appliedTo(batch) {
  return (batch && appliedFiles.get(batch)) || null;
}
/** @type {{batch: string, file: string, text: string, again?: boolean, now?: boolean} | null} a diagnoses file
 * given while images of the batch were still uploading, classifying or failed (to be retried): sent once
 * they are all classified. `again`: the file applied before, for images added since; `now`: "Apply now" */
let held = null;
/** @type {Set<string>} the object ids of the open batch's photos added with the samples button */
let sampleIds = new Set();

/** The API, once config.json named it (nothing calls it before). */
function api() {
  if (!state.api) throw new Error("no API address");
  return state.api;
}

/** @param {string} message */
const alert = (message) => showAlert(els, message);

/** @param {string | null} batch */
function setBatch(batch) {
  if ((batch || null) !== state.batch) sampleIds = batch ? loadSampleIds(state.storage, batch) : new Set();
  state.batch = batch || null;
  progress.showBatch();
}

function updateProgress() {
  progress.update();
  sendHeldWhenDone();
}

/** @param {Entry} [entry] */
function changed(entry) {
  if (entry) view.update(entry);
  updateProgress();
  rememberBatchSoon();
}

// ---- the batch at a glance: its entry in "My batches" ----------------------------------------------

/** @type {ReturnType<typeof setTimeout> | null} */
let rememberTimer = null;

function rememberBatchSoon() {
  if (rememberTimer || !batchList) return;
  const list = batchList;
  rememberTimer = setTimeout(() => {
    rememberTimer = null;
    if (!state.batch) return;
    /** @type {Record<string, number>} */
    const byOutcome = {};
    for (const item of summaryLine(state.entries)) byOutcome[item.outcome.text] = item.n;
    const uploaded = state.entries.map((e) => e.record && e.record.uploaded_at).filter((at) => typeof at === "string").sort();
    list.remember(state.batch, { files: state.entries.length, byOutcome, createdAt: uploaded[0] });
  }, 500);
}

// ---- files in ----------------------------------------------------------------------------------

/** @param {Iterable<File> | ArrayLike<File>} files @param {{sample?: boolean}} [options] sample: added with
 * the samples button (their diagnosis is known) */
function addFiles(files, { sample = false } = {}) {
  let list = Array.from(files).filter((file) => file && typeof file.name === "string");
  // A diagnoses file given here while a batch's results are on screen is not an image to refuse: say where it goes.
  const isCsv = (/** @type {File} */ file) => /\.csv$/i.test(file.name) || file.type === "text/csv";
  const csvs = state.batch && !els.scorePanel.hidden ? list.filter(isCsv) : [];
  list = list.filter((file) => !csvs.includes(file));
  const csvHint = "That looks like a diagnoses file: drop it on Your diagnoses.";
  if (list.length === 0) {
    if (csvs.length) els.dropNote.textContent = csvHint;
    return;
  }
  alert("");
  hideNotice();
  // The same file (name and size) twice is one row: noted, not added again; a file whose upload failed
  // is sent again with the file just given.
  const { fresh, again, duplicates } = sortOutDuplicates(state.entries, list);
  noteDuplicates(duplicates);
  if (csvs.length) els.dropNote.textContent = `${els.dropNote.textContent} ${csvHint}`.trim();
  const entries = fresh.map((file) => entryForFile(file, `f${state.nextId++}`,
    (file.type || "").startsWith("image/") ? URL.createObjectURL(file) : null, Date.now()));
  if (sample) for (const entry of entries) entry.sample = true;
  state.entries.push(...entries);
  view.setEntries(state.entries);
  for (const { entry, file } of again) entry.file = file;
  retry(again.map(({ entry }) => entry));
  if (entries.length) queue.add(entries);
  const applied = appliedTo(state.batch);
  if (entries.length && applied && !held) {
    held = { batch: applied.batch, file: applied.file, text: applied.text, again: true }; // the new images get it too
    heldSaid = "";
  }
  updateProgress();
  ensurePolling();
}

/** "2 files already in this batch were not added again: a.jpg, b.jpg" (or nothing). @param {File[]} files */
function noteDuplicates(files) {
  const names = [...new Set(files.map((file) => file.name))];
  els.dropNote.textContent = files.length === 0 ? ""
    : `${files.length === 1 ? "1 file" : `${files.length} files`} already in this batch ${files.length === 1 ? "was" : "were"}`
      + ` not added again: ${names.slice(0, 5).join(", ")}${names.length > 5 ? ` and ${names.length - 5} more` : ""}.`;
}

/** Send failed files again (their upload URL is asked for afresh). @param {Entry[]} entries */
function retry(entries) {
  const again = entries.filter(canRetry);
  if (again.length === 0) return;
  clearAlertFrom(els, "upload");
  for (const entry of again) {
    entry.status = STATUS.QUEUED;
    entry.message = "";
    entry.retried = false;
    entry.upload = null;
    entry.loaded = 0;
    changed(entry);
  }
  queue.add(again);
  ensurePolling();
}

/** The batch's one order: its files' object ids as the table lists them unsorted (the order chosen). */
function orderIds() {
  return state.entries.map((entry) => entry.objectId).filter(/** @returns {id is string} */ (id) => typeof id === "string");
}

function keepOrder() {
  if (state.batch) saveOrder(state.storage, state.batch, orderIds());
}

/** Presigned POSTs for `entries`: each gets its upload, or is marked refused or failed. */
/** @param {Entry[]} entries @param {AbortSignal} signal aborted when the batch is deleted meanwhile */
async function presign(entries, signal) {
  let response;
  try {
    response = await api().presign(entries.map((e) => ({ name: e.name, type: e.type, size: e.size })), state.batch);
  } catch (err) {
    if (signal.aborted) return; // the batch was deleted meanwhile: these files were cancelled with it
    if (err instanceof ApiError && err.status === 410) { // deleted elsewhere: send nothing more, start no batch
      cancelUploads([...entries, ...queue.cancel()]);
      progress.say("The batch was deleted elsewhere: its remaining uploads were cancelled.");
      return;
    }
    for (const entry of entries) {
      entry.status = STATUS.FAILED;
      entry.message = `Could not get an upload URL: ${errorMessage(err)}`;
      changed(entry);
    }
    if (err instanceof ApiError && err.status === 0) showAlert(els, `${err.message}. Use Retry once it answers again.`, "upload");
    return;
  }
  clearAlertFrom(els, "upload"); // the API answers again
  if (signal.aborted) return; // signed into a batch deleted meanwhile: never start or reopen one
  if (response.batch && response.batch !== state.batch) setBatch(response.batch);
  if (response.maxBytes) showLimit(response.maxBytes);
  const uploads = Array.isArray(response.uploads) ? response.uploads : [];
  // The API answers in request order; fall back to names if it did not.
  const byIndex = uploads.length === entries.length && uploads.every((u, i) => !u || !u.name || u.name === entries[i].name);
  const unclaimed = uploads.slice();
  entries.forEach((entry, i) => {
    let answer;
    if (byIndex) answer = uploads[i];
    else {
      const at = unclaimed.findIndex((u) => u && u.name === entry.name);
      answer = at >= 0 ? unclaimed.splice(at, 1)[0] : null;
    }
    if (!answer) {
      entry.status = STATUS.FAILED;
      entry.message = "The API did not answer for this file";
    } else if (answer.error) {
      entry.status = STATUS.REFUSED;
      entry.message = String(answer.error);
      entry.file = null; // nothing more to send
      if (typeof answer.objectId === "string") { // the API recorded the refusal in the batch
        entry.objectId = answer.objectId;
        state.byObjectId.set(answer.objectId, entry);
      }
    } else if (answer.url && answer.objectId) {
      if (entry.objectId) state.byObjectId.delete(entry.objectId);
      entry.upload = { ...answer, url: answer.url, objectId: answer.objectId };
      entry.objectId = answer.objectId;
      entry.key = answer.key;
      state.byObjectId.set(answer.objectId, entry);
      if (entry.sample) sampleIds.add(answer.objectId);
    } else {
      entry.status = STATUS.FAILED;
      entry.message = "The API's answer for this file has no upload URL";
    }
    changed(entry);
  });
  keepOrder();
  if (state.batch && entries.some((entry) => entry.sample)) saveSampleIds(state.storage, state.batch, sampleIds);
}

/** @param {Entry} entry @param {AbortSignal} signal aborted when the batch is deleted */
async function uploadEntry(entry, signal) {
  entry.status = STATUS.UPLOADING;
  entry.loaded = 0;
  changed(entry);
  let lastPaint = 0;
  try {
    if (!entry.upload || !entry.file) throw new Error("nothing to upload");
    await postToS3(entry.upload, entry.file, {
      signal,
      onProgress(loaded, total) {
        entry.loaded = loaded;
        entry.total = total;
        const now = performance.now();
        if (now - lastPaint > 100 || loaded >= total) {
          lastPaint = now;
          view.progress(entry);
          updateProgress();
        }
      },
    });
    entry.status = STATUS.PENDING;
    entry.loaded = entry.size;
    entry.uploadedAt = Date.now();
    state.lastNews = Date.now();
    changed(entry);
    ensurePolling();
  } catch (err) {
    if (signal.aborted) { // its batch was deleted: never re-signed (that would start a new batch)
      cancelUploads([entry]);
      return;
    }
    // An expired or refused presigned POST gets one fresh URL and one more try.
    const status = err instanceof Error && "status" in err ? err.status : undefined;
    if (!entry.retried && (status === 0 || status === 403)) {
      entry.retried = true;
      entry.status = STATUS.QUEUED;
      entry.upload = null;
      changed(entry);
      queue.add([entry]);
      return;
    }
    entry.status = STATUS.FAILED;
    entry.message = errorMessage(err);
    changed(entry);
  }
}

/** Files that will not be sent because their batch was deleted. @param {Entry[]} entries */
function cancelUploads(entries) {
  held = null; // nothing is applied to a batch deleted or left
  for (const entry of entries) {
    entry.status = STATUS.FAILED;
    entry.message = "Not uploaded: the batch was deleted";
    entry.file = null;
    entry.upload = null;
    changed(entry);
  }
}

/** @param {number} maxBytes */
function showLimit(maxBytes) {
  if (state.maxBytes === maxBytes) return;
  state.maxBytes = maxBytes;
  els.limit.textContent = ` Up to ${formatBytes(maxBytes)} each.`;
}

// ---- predictions in ----------------------------------------------------------------------------

/** @param {Entry} entry */
function isActive(entry) {
  return ACTIVE.has(entry.status);
}

function ensurePolling() {
  if (state.pollTimer || state.polling) return;
  if (!state.batch || !state.entries.some(isActive)) return;
  els.checkAgain.hidden = true;
  if (!state.lastNews) state.lastNews = Date.now();
  state.pollTimer = setTimeout(poll, POLL_MS);
}

/** A record from the API: update its entry (or add one); true when that is news. @param {ApiRecord} record */
function applyRecord(record) {
  if (!record || typeof record.object_id !== "string") return false;
  let entry = state.byObjectId.get(record.object_id);
  if (!entry) {
    entry = entryForRecord({ ...record, object_id: record.object_id }, Date.now());
    entry.sample = sampleIds.has(record.object_id); // added with the samples button (this tab or before a reload)
    state.byObjectId.set(record.object_id, entry);
    state.entries.push(entry);
    state.reorder = true; // placed by the batch's one order once its record is in (below)
  }
  if (!isNewer(entry, record)) return false;
  const news = mergeRecord(entry, record);
  if (news) changed(entry);
  return news;
}

async function poll() {
  state.pollTimer = null;
  if (!state.batch) return;
  state.polling = true;
  try {
    const batch = state.batch;
    const items = await api().predictions({ batch });
    if (batch !== state.batch) return; // another batch (or none) is on screen now
    let news = false;
    for (const record of items) news = applyRecord(record) || news;
    placeNewRows();
    if (news) {
      state.lastNews = Date.now();
      if (score) scoreSoon();
    }
    if (state.reopened && !state.lookedUp) { // the first look at a batch opened by its id
      state.lookedUp = true;
      if (items.length === 0 && state.entries.length === 0) checkGone(batch);
      else loadScore(); // and its score against diagnoses given before
    } else if (items.length === 0 && state.entries.some((entry) => entry.record) && !state.checkedGone) {
      checkGone(batch); // its records are gone: deleted elsewhere?
    }
    clearAlertFrom(els, "poll");
    state.pollFailures = 0;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && api().auth) return; // signed out: polling resumes after sign-in (#batch is kept)
    state.pollFailures += 1;
    showAlert(els, `Could not fetch predictions: ${errorMessage(err)}. Retrying…`, "poll");
  } finally {
    state.polling = false;
  }
  updateProgress();
  // A batch reopened from a link may still be classifying files this page never saw: keep looking
  // while predictions keep arriving.
  const reopenedAndBusy = state.reopened && Date.now() - state.lastNews < REOPENED_QUIET_MS;
  const waiting = state.entries.some(isActive) || reopenedAndBusy;
  if (!waiting) {
    if (state.reopened) els.checkAgain.hidden = false;
    return; // all done: stop polling
  }
  if (!queue.busy && Date.now() - state.lastNews > GIVE_UP_MS) {
    els.checkAgain.hidden = false;
    progress.say("Some images have not been classified after 5 minutes. Use “Check again” to look once more.");
    return;
  }
  const backoff = Math.min(30_000, POLL_MS * 2 ** state.pollFailures); // an API in trouble is not hammered
  state.pollTimer = setTimeout(poll, backoff);
}

/** Rows found in the API's records (a reopened batch, another tab's files) take their place in the
 * batch's one order: the order chosen here, else upload order. */
function placeNewRows() {
  if (!state.reorder) return;
  state.reorder = false;
  if (state.batch) state.entries = inChosenOrder(state.entries, loadOrder(state.storage, state.batch));
  view.setEntries(state.entries);
}

/** A batch opened by its id that has no records: deleted (or never used). Say so, offer a new batch, and
 * take it off the screen, so that nothing chosen next is uploaded into it. @param {string} batch */
async function checkGone(batch) {
  state.checkedGone = true;
  const seen = state.entries.some((entry) => entry.record); // on screen with results until now
  try {
    // a listing, not GET /batches/{b}: an unknown batch is an empty list here, never a 404 that the
    // browser would log as a failed resource
    const found = await api().predictions({ batch, model: "all", limit: 1 }, 1);
    if (found.length || batch !== state.batch) return; // it has records (of another model version): not gone
  } catch {
    return; // the API is away: nothing is concluded
  }
  cancelUploads(queue.cancel()); // nothing more is sent into it, nor into a new batch
  clearBatch();
  batchList?.forget(batch);
  if (seen) {
    saveOrder(state.storage, batch, null);
    saveSampleIds(state.storage, batch, null);
    showNotice(`Batch ${batch} is gone: it was deleted elsewhere. Nothing more is uploaded into it; images you choose now start a new batch.`);
    return;
  }
  // perhaps another tab is still uploading its first images: its order and samples (this browser's) are kept
  showNotice(`No image of batch ${batch} is stored: it was deleted, its first images are still uploading elsewhere, or it never`
    + " existed. Images you choose now start a new batch.", batch);
}

/** @param {string} text @param {string} [again] a batch to look for again ("Check again") */
function showNotice(text, again) {
  els.batchNoticeText.textContent = text;
  els.batchNotice.hidden = false;
  els.noticeCheckAgain.hidden = !again;
  els.noticeCheckAgain.onclick = again ? () => {
    window.location.hash = `#batch=${encodeURIComponent(again)}`;
    window.location.reload();
  } : null;
}

function hideNotice() {
  els.batchNotice.hidden = true;
}

// ---- the batch scored against the researcher's diagnoses ----------------------------------------

/** Show the batch's score (or none), and mark each row by it; `file` names the diagnoses file given in this
 * tab (null: the score stored with the batch).
 * @param {import("./api.js").BatchScore | null} next @param {string | null} [file] */
function showScore(next, file = null) {
  const fileSays = (/** @type {import("./api.js").BatchScore} */ s) => ["unmatched_rows", "ambiguous_rows", "conflicting_rows", "unknown_truths"]
    .some((key) => { const list = /** @type {Record<string, unknown>} */ (s)[key]; return Array.isArray(list) && list.length > 0; })
    || (s.kept || 0) > 0;
  score = next && ((next.matched || 0) > 0 || (file !== null && fileSays(next))) ? next : null;
  renderScore(els, score, score ? file : null, state.entries.map((entry) => entry.name),
    state.entries.map((entry) => ({ sample: Boolean(entry.sample), truth: Boolean(entry.record && entry.record.truth) })));
  // the researcher's own diagnoses given: no sample photo's diagnosis is shown beside them
  const own = Boolean(score && (score.matched || 0) > 0) || state.entries.some((entry) => entry.record && entry.record.truth);
  if (setOwnDiagnoses(own)) {
    for (const entry of state.entries) view.update(entry);
    samples.render(state.entries);
  }
}

/** What the stored diagnoses say, for telling whether they are still those of the file given here. @param {import("./api.js").BatchScore} s */
function scoreKey(s) {
  return JSON.stringify([s.matched || 0, s.right || 0, s.wrong || 0, s.confusion || {}]);
}

/** The diagnoses file chosen or dropped: held while images of the batch are still on their way, else sent.
 * @param {File} file */
async function scoreWith(file) {
  const batch = state.batch;
  if (!batch) return;
  if (file.size > MAX_TRUTH_BYTES) {
    sayScoreStatus(els, `${file.name} is over 2 MiB: a diagnoses file is one short line per image.`, true);
    return;
  }
  let text;
  try {
    text = await file.text();
  } catch (err) {
    sayScoreStatus(els, `Could not read ${file.name}: ${errorMessage(err)}`, true);
    return;
  }
  if (batch !== state.batch) return;
  held = { batch, file: file.name, text };
  heldSaid = "";
  sendHeldWhenDone();
}

let heldSaid = ""; // the held message last said

/** Send the held diagnoses file once no image of its batch is uploading or classifying; till then say how
 * many are. A file applied to part of a batch would leave the rest without their diagnoses. */
function sendHeldWhenDone() {
  if (!held) return;
  if (held.batch !== state.batch) {
    held = null; // another batch (or none) on screen: nothing was applied
    return;
  }
  const waiting = state.entries.filter(isActive).length;
  const failed = state.entries.filter(canRetry).length; // to be retried: a file applied now would miss them
  if (waiting > 0 || (failed > 0 && !held.now)) {
    const images = (/** @type {number} */ n) => (n === 1 ? "1 image" : `${n} images`);
    const text = waiting > 0
      ? `${held.again ? `${held.file}, applied here before, will be applied again to the new images` : "Your diagnoses will be applied"}`
        + ` when the ${images(waiting)} still in progress ${waiting === 1 ? "is" : "are"} classified: keep this page open`
        + ` (${held.file} is held here; nothing is applied until then).`
      : `${held.file} is held until the ${failed === 1 ? "1 failed file is" : `${failed} failed files are`} retried`
        + " (use Retry; it is applied once they are classified), or apply it now to the images classified.";
    if (text !== heldSaid) {
      heldSaid = text;
      if (waiting > 0) sayScoreStatus(els, text);
      else {
        sayHeldStatus(els, text, () => {
          if (!held) return;
          held.now = true;
          sendHeldWhenDone();
        });
      }
    }
    return;
  }
  const { batch, file, text } = held;
  held = null;
  heldSaid = "";
  sendTruth(batch, file, text);
}

/** PUT the diagnoses, show the answer and each row's mark. @param {string} batch @param {string} file @param {string} text */
async function sendTruth(batch, file, text) {
  sayScoreStatus(els, `Reading ${file}…`);
  try {
    const reply = await api().putTruth(batch, text);
    if (batch !== state.batch) return;
    appliedFiles.set(batch, { batch, file, text, reply });
    shownKey = scoreKey(reply) + JSON.stringify(reply.per_image || {});
    showScore(reply, file);
    // the panel's first line names the file and its headline counts: said here only when nothing is shown
    sayScoreStatus(els, score ? "" : `Diagnoses from ${file}: no image of this batch matched.`);
    // the records now carry `truth`: read them again for each row's mark
    for (const record of await api().predictions({ batch })) applyRecord(record);
    placeNewRows();
    showScore(score, score ? file : null); // the rows' truths are in: no sample's diagnosis beside them
  } catch (err) {
    sayScoreStatus(els, `Could not use ${file}: ${errorMessage(err)}`, true);
  }
}

/** @type {ReturnType<typeof setTimeout> | null} */
let scoreTimer = null;

/** New results came in while a score is shown: read it again (the new images count too). */
function scoreSoon() {
  if (scoreTimer) return;
  scoreTimer = setTimeout(() => {
    scoreTimer = null;
    loadScore();
  }, 1000);
}

/** The score kept with the batch's records (GET /batches/{b}/score), when it has one. The file given in
 * this tab is named (with what only it says) while the stored diagnoses are still its; once they changed
 * (another tab, another browser) the score is the server's, under a neutral heading. */
async function loadScore({ records = false } = {}) {
  const batch = state.batch;
  if (!batch) return;
  try {
    const reply = await api().score(batch);
    if (batch !== state.batch) return;
    const key = scoreKey(reply) + JSON.stringify(reply.per_image || {});
    // the stored diagnoses changed (another tab, another browser): each row's mark and the detail view
    // follow the records' `truth`, read again
    if (records || (shownKey !== null && key !== shownKey)) await rereadRecords(batch);
    shownKey = key;
    if (batch !== state.batch) return;
    const applied = appliedTo(batch);
    const mine = applied && scoreKey(applied.reply) === scoreKey(reply) ? applied : null;
    if (!mine && applied) {
      appliedFiles.delete(batch); // the diagnoses stored were replaced elsewhere: the file given here is not theirs
      if (!held) sayScoreStatus(els, "");
    }
    const { ambiguous_rows, conflicting_rows, unknown_truths, kept, name_column, truth_column } = mine ? mine.reply : {};
    const without = new Set(Array.isArray(reply.without_truth) ? reply.without_truth.map(String) : []);
    const unmatched_rows = mine && Array.isArray(mine.reply.unmatched_rows)
      ? mine.reply.unmatched_rows.filter((name) => !without.has(String(name))) : undefined; // images added since
    showScore(mine ? { ...reply, unmatched_rows, ambiguous_rows, conflicting_rows, unknown_truths, kept, name_column, truth_column } : reply,
      mine ? mine.file : null);
  } catch {
    /* no records under the model served now, or the API is away: no score shown */
  }
}

let lastLook = 0;
/** @type {string | null} the stored score last read (its counts and per-image marks) */
let shownKey = null;

/** Read the batch's records again (their `truth`): rows, marks and an open detail view follow them.
 * @param {string} batch */
async function rereadRecords(batch) {
  let items;
  try {
    items = await api().predictions({ batch });
  } catch {
    return;
  }
  if (batch !== state.batch) return;
  for (const record of items) applyRecord(record);
  // a diagnosis removed elsewhere: the record read again has none
  placeNewRows();
  if (detail.entry && els.detail.open) detail.show(detail.entry);
}

/** The tab shown again: the diagnoses may have been replaced elsewhere meanwhile. */
function lookAgainAtScore() {
  if (!state.batch || els.scorePanel.hidden || Date.now() - lastLook < 1000) return;
  lastLook = Date.now();
  loadScore({ records: true });
}

// ---- filters, new batch, check again, the model card -------------------------------------------

function wireControls() {
  const apply = () => view.setFilter(els.filterText.value, els.filterStatus.value);
  els.filterText.addEventListener("input", apply);
  els.filterStatus.addEventListener("change", apply);
  const newBatch = async () => {
    if (!(await leaveBatch())) return;
    clearBatch();
    hideNotice();
    progress.say("New batch: choose images to upload.");
    els.dropzone.focus();
  };
  els.newBatch.addEventListener("click", newBatch);
  els.noticeNewBatch.addEventListener("click", newBatch);
  els.retryFailed.addEventListener("click", () => retry(state.entries));
  // Reloading or closing the tab with work unfinished (files uploading or failed and waiting for Retry, a
  // diagnoses file held) loses it: the browser's own prompt asks first.
  window.addEventListener("beforeunload", (event) => {
    if (!unfinished()) return;
    event.preventDefault();
    event.returnValue = ""; // browsers that still want it set
  });
  els.checkAgain.addEventListener("click", () => {
    state.lastNews = Date.now();
    els.checkAgain.hidden = true;
    if (!state.pollTimer && !state.polling) poll();
  });
}

async function loadModelCard() {
  const container = els.modelCard;
  try {
    const card = await api().model();
    state.card = card;
    setCard(card);
    // label colours and shapes follow the card's order, the score shown its positive label
    for (const entry of state.entries) view.update(entry);
    renderCard(card, container);
    if (card.disclaimer) showDisclaimer(els, String(card.disclaimer), state.storage);
    showModelName(els, card);
    els.samples.hidden = card.task === "detect"; // dermoscopy samples mean nothing to an object detector
  } catch (err) {
    container.textContent = `The model card could not be loaded: ${errorMessage(err)}`;
    els.samples.hidden = false;
  }
}

// ---- my batches: opening and deleting one ------------------------------------------------------

/** @param {string} batch */
async function openBatch(batch) {
  if (batch === state.batch) {
    els.results.focus();
    return;
  }
  if (!(await leaveBatch())) return;
  showBatch(batch);
  els.results.focus();
}

/** Open `batch` in this tab without reloading it: what this tab keeps of it (the diagnoses file applied to
 * it) is used again. @param {string} batch */
function showBatch(batch) {
  if (state.pollTimer) clearTimeout(state.pollTimer);
  state.pollTimer = null;
  clearBatch();
  hideNotice();
  setBatch(batch); // its #batch= link (replaceState: no hashchange)
  state.reopened = true;
  state.lookedUp = false;
  state.pollFailures = 0;
  state.lastNews = Date.now();
  els.checkAgain.hidden = true;
  batchList?.render();
  poll();
}

/** The files of the batch on screen not sent yet. */
function uploading() {
  return state.entries.filter((entry) => entry.status === STATUS.QUEUED || entry.status === STATUS.UPLOADING).length;
}

/** The batch on screen still uploading, or holding a diagnoses file: null when neither. */
function busyWith() {
  const heldFile = held && held.batch === state.batch ? held.file : null;
  const uploads = uploading();
  return uploads > 0 || heldFile ? { uploads, held: heldFile } : null;
}

/** Work a reload or a closed tab would lose: files uploading or failed (waiting for Retry), a held file. */
function unfinished() {
  return uploading() > 0 || state.entries.some(canRetry) || Boolean(held && held.batch === state.batch);
}

/** Resolves once the queue has stopped (its aborted uploads and signing settled), or after 5 s. */
async function queueStopped() {
  for (let waited = 0; queue.busy && waited < 5000; waited += 50) await new Promise((resolve) => { setTimeout(resolve, 50); });
}

/** Another batch opened, or a new one started: while this one is still uploading, has failed uploads
 * waiting for Retry (or a diagnoses file is held), ask first; left, its queue, failed files and held file
 * are dropped and My batches keeps only what the server has of it. Resolves false when the researcher stays. */
async function leaveBatch() {
  const busy = busyWith();
  const batch = state.batch;
  const failed = state.entries.filter(canRetry).length;
  if (!busy && failed === 0) return true;
  const uploads = busy ? busy.uploads : 0;
  const heldFile = busy ? busy.held : null;
  const files = (/** @type {number} */ n) => `${n} file${n === 1 ? "" : "s"}`;
  const andHeld = heldFile ? ` (and your diagnoses file ${heldFile} is held)` : "";
  const line = uploads > 0
    ? `${files(uploads)} of this batch ${uploads === 1 ? "is" : "are"} still uploading`
      + `${failed > 0 ? `, ${failed} failed and ${failed === 1 ? "waits" : "wait"} for Retry` : ""}${andHeld}: leave them? They will not be stored.`
    : failed > 0
      ? `${files(failed)} of this batch failed and ${failed === 1 ? "waits" : "wait"} for Retry${andHeld}: leave them? They will not be stored.`
      : `Your diagnoses file ${heldFile} is held until this batch's images are classified: leave it? It will not be applied.`;
  if (!(await confirmText(els, "Leave this batch?", [line], uploads > 0 || failed > 0 ? "Leave them" : "Leave it", "Stay"))) return false;
  held = null;
  for (const entry of queue.cancel()) entry.file = null;
  await queueStopped();
  if (rememberTimer) clearTimeout(rememberTimer);
  rememberTimer = null;
  if (batch && batchList) {
    try {
      const preview = await api().batch(batch);
      batchList.settle(batch, preview);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) batchList.forget(batch); // nothing of it stored
    }
  }
  return true;
}

function clearBatch() {
  for (const entry of state.entries) if (entry.previewUrl) URL.revokeObjectURL(entry.previewUrl);
  state.entries = [];
  state.byObjectId.clear();
  state.lastNews = 0;
  state.reopened = false;
  state.checkedGone = false;
  held = null; // the file applied to it stays in appliedFiles, for its images added after it is opened again
  shownKey = null;
  showScore(null);
  sayScoreStatus(els, "");
  noteDuplicates([]);
  setBatch(null);
  view.setEntries(state.entries);
  progress.reset();
  updateProgress();
}

async function main() {
  view = new ResultsView({
    table: els.resultsTable, body: els.resultsBody, empty: els.resultsEmpty, count: els.resultsCount,
    onOpen: (entry) => detail.open(entry),
    onRetry: (entry) => retry([entry]),
    onRender: () => {
      progress.renderSummary();
      samples.render(state.entries);
      els.scorePanel.hidden = !(state.batch && state.entries.some((entry) => entry.status === STATUS.OK));
    },
  });
  detail = new DetailView(els.detail, { getCard: () => state.card, getVisible: () => view.visible });
  queue = new UploadQueue({ presign, upload: uploadEntry, changed: () => updateProgress() }, { concurrency: CONCURRENCY });
  wireDropZone(els, addFiles);
  samples = wireSamples(els, { addFiles, alert, refresh: () => { for (const entry of state.entries) view.update(entry); } });
  wireDownloads(els, {
    api, alert,
    batch: () => state.batch,
    shownIds: () => view.visible.map((entry) => entry.objectId).filter(/** @returns {id is string} */ (id) => typeof id === "string"),
    orderIds,
  });
  wireScore(els, { onFile: (file) => { scoreWith(file); } });
  wireControls();
  view.setEntries(state.entries);
  let config;
  let auth = null;
  try {
    config = await loadConfig();
    if (config.auth) auth = new Auth(config.auth);
  } catch (err) {
    alert(`${errorMessage(err)}. The page cannot reach the Spotter API.`);
    els.modelCard.textContent = "Not available: no API address.";
    enableUploads(els, false);
    return;
  }
  state.api = new Api(config.apiUrl, auth);
  const storage = auth ? sessionStorage : localStorage; // signed in: nothing of the user outlives the session
  state.storage = storage;
  forgetOldFileNotes(storage);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") lookAgainAtScore(); });
  window.addEventListener("focus", lookAgainAtScore);
  /** @type {BatchList} */
  const list = new BatchList({
    list: els.batchesList, empty: els.batchesEmpty, where: els.batchesWhere, api: state.api,
    current: () => state.batch, onOpen: openBatch, storage, signedIn: Boolean(auth),
    confirm: (batch, preview) => confirmDeletion(els, batch, list.items.find((b) => b.batch === batch)?.name, preview),
    busy: (batch) => (batch === state.batch ? busyWith() : null),
    onFocusLost: () => (els.newBatch.disabled ? els.results : els.newBatch).focus(), // the batch and its neighbours gone
    ask: (title, lines, ok, cancel) => confirmText(els, title, lines, ok, cancel),
    onDeleting: async (batch) => {
      if (batch !== state.batch) return;
      held = null; // never applied to a batch being deleted
      cancelUploads(queue.cancel()); // nothing more is sent into it, nor elsewhere
      await queueStopped(); // then the delete removes whatever landed meanwhile
    },
    onDeleted: (batch) => {
      appliedFiles.delete(batch);
      saveOrder(storage, batch, null);
      saveSampleIds(storage, batch, null);
      if (batch !== state.batch) return;
      cancelUploads(queue.cancel()); // whatever was added while the delete ran
      clearBatch();
      progress.say("The batch was deleted: its images and results are gone.");
    },
  });
  batchList = list;
  if (auth) {
    wireAuth(els, auth);
    try {
      await auth.start(); // finishes a sign-in coming back from the hosted UI
    } catch (err) {
      alert(errorMessage(err));
    }
    renderAuth(els, auth);
    if (!auth.signedIn) {
      els.modelCard.textContent = "Sign in to see the model card.";
      document.body.dataset.ready = "true";
      return;
    }
  }
  document.body.dataset.ready = "true";
  loadModelCard();
  const fromHash = batchFromHash(window.location.hash);
  setBatch(fromHash);
  list.render();
  refreshListWhenShown(list);
  if (fromHash) {
    // Reopened with #batch=...: show what the API has for it.
    state.reopened = true;
    state.lastNews = Date.now();
    poll();
  }
  updateProgress();
  // Another batch's link pasted into this tab: open it afresh (replaceState above fires no hashchange).
  window.addEventListener("hashchange", () => {
    const batch = batchFromHash(window.location.hash);
    if (batch && batch !== state.batch) window.location.reload();
  });
}

/** "My batches" reads the server's counts whenever it is shown: now, when the tab is shown again, and when
 * the list scrolls into view (at most every few seconds). @param {BatchList} list */
function refreshListWhenShown(list) {
  let last = 0;
  const refresh = () => {
    if (Date.now() - last < LIST_REFRESH_MS) return;
    last = Date.now();
    list.refresh();
  };
  refresh();
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refresh(); });
  window.addEventListener("pageshow", (event) => { if (event.persisted) refresh(); });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver((seen) => { if (seen.some((e) => e.isIntersecting)) refresh(); }).observe(els.batchesList.closest("section") || els.batchesList);
  }
}

main();
