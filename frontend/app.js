// Spotter's page: pick or drop images, upload them straight to S3, show predictions as they arrive.

import { Api, ApiError, loadConfig } from "./api.js";
import { Auth } from "./auth.js";
import { renderCard } from "./card.js";
import { el, clear, formatBytes } from "./dom.js";
import { ResultsView, ACTIVE } from "./results.js";
import { UploadQueue, postToS3 } from "./upload.js";
import { setLabels, summaryLine, outcomeOf } from "./decisions.js";
import { DetailView } from "./detail.js";
import { BatchList, deletionText } from "./batches.js";
import { selectRows } from "./csv.js";

const POLL_MS = 1500;
const GIVE_UP_MS = 5 * 60 * 1000; // stop polling after this long without a new prediction
const REOPENED_QUIET_MS = 30 * 1000; // a reopened batch is polled until nothing new arrives for this long
const CONCURRENCY = 4;

/** Real CC0 ISIC photos from the demo model's test split, described in samples/samples.json. */
const SAMPLES_URL = "samples/samples.json";

const $ = (id) => document.getElementById(id);

const state = {
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
  maxBytes: null,
  card: null,
  storage: null, // localStorage with sign-in off, sessionStorage with it on
};

let view;
let queue;
let detail;
let batchList;

function showAlert(message) {
  const box = $("alert");
  box.textContent = message;
  box.hidden = !message;
}

function setBatch(batch) {
  state.batch = batch || null;
  $("batch-id").textContent = state.batch || "none yet";
  const link = $("csv-link");
  if (state.batch && state.api) {
    link.href = state.api.csvUrl({ batch: state.batch });
    link.setAttribute("download", `spotter-${state.batch}.csv`);
    link.removeAttribute("aria-disabled");
    link.hidden = false;
  } else {
    link.removeAttribute("href");
    link.hidden = true;
  }
  $("csv-shown").hidden = !(state.batch && state.api);
  const hash = state.batch ? `#batch=${encodeURIComponent(state.batch)}` : "";
  if (window.location.hash !== hash) history.replaceState(null, "", `${window.location.pathname}${window.location.search}${hash}`);
}

// ---- progress ----------------------------------------------------------------------------------

let lastAnnounced = "";
let announceTimer = null;
let lastAnnouncedAt = 0;

function counts() {
  const c = { total: state.entries.length, queued: 0, uploading: 0, pending: 0, ok: 0, rejected: 0, refused: 0, failed: 0, bytes: 0, sent: 0 };
  for (const entry of state.entries) {
    c[entry.status] = (c[entry.status] || 0) + 1;
    if (entry.status !== "refused" && entry.file) {
      c.bytes += entry.size;
      c.sent += entry.status === "queued" ? 0 : entry.status === "uploading" ? entry.loaded || 0 : entry.status === "failed" ? 0 : entry.size;
    }
  }
  return c;
}

function progressSummary(c) {
  if (c.total === 0) return "";
  const toUpload = c.total - c.refused;
  const uploaded = toUpload - c.queued - c.uploading - c.failed;
  const done = c.ok + c.rejected;
  const parts = [`${uploaded} of ${toUpload} uploaded`, `${done} of ${uploaded} classified (${c.ok} ok, ${c.rejected} rejected)`];
  if (c.refused) parts.push(`${c.refused} refused`);
  if (c.failed) parts.push(`${c.failed} failed to upload`);
  const finished = c.queued + c.uploading + c.pending === 0;
  return `${finished ? "All done: " : ""}${parts.join(", ")}.`;
}

function updateProgress() {
  const c = counts();
  const uploadBar = $("upload-progress");
  const classifyBar = $("classify-progress");
  uploadBar.max = Math.max(1, c.bytes);
  uploadBar.value = c.sent;
  const uploaded = c.total - c.refused - c.queued - c.uploading - c.failed;
  classifyBar.max = Math.max(1, uploaded);
  classifyBar.value = c.ok + c.rejected;
  $("upload-progress-text").textContent = c.bytes ? `${formatBytes(c.sent)} of ${formatBytes(c.bytes)}` : "";
  $("progress-section").hidden = c.total === 0;
  uploadBar.closest(".progress-row").hidden = c.bytes === 0; // a reopened batch has nothing to send
  const busy = queue.busy || c.pending > 0;
  $("new-batch").disabled = busy || c.total === 0;
  // The live region only changes when counts do (not on every progress event), at most once a second.
  const summary = progressSummary(c);
  if (summary !== lastAnnounced && !announceTimer) {
    announceTimer = setTimeout(() => {
      announceTimer = null;
      lastAnnouncedAt = Date.now();
      lastAnnounced = progressSummary(counts());
      $("progress-text").textContent = lastAnnounced;
    }, Math.max(0, 1000 - (Date.now() - lastAnnouncedAt)));
  }
}

function changed(entry) {
  if (entry) view.update(entry);
  updateProgress();
  rememberBatchSoon();
}

// ---- the batch at a glance: summary line, and its entry in "My batches" --------------------------

let rememberTimer = null;

function rememberBatchSoon() {
  if (rememberTimer || !batchList) return;
  rememberTimer = setTimeout(() => {
    rememberTimer = null;
    if (!state.batch) return;
    const byOutcome = {};
    for (const item of summaryLine(state.entries)) byOutcome[item.outcome.text] = item.n;
    const uploaded = state.entries.map((e) => e.record && e.record.uploaded_at).filter(Boolean).sort();
    batchList.remember(state.batch, { files: state.entries.length, byOutcome, createdAt: uploaded[0] });
  }, 500);
}

function renderSummary() {
  const box = $("batch-summary");
  const parts = summaryLine(state.entries);
  clear(box);
  box.hidden = parts.length === 0;
  if (parts.length === 0) return;
  box.append(el("span", { class: "visually-hidden", text: "This batch: " }));
  parts.forEach((part, i) => {
    if (i > 0) box.append(", ");
    box.append(el("span", { class: `outcome outcome-${part.outcome.kind}`, text: part.text }));
  });
}

// ---- files in ----------------------------------------------------------------------------------

function addFiles(files) {
  const list = Array.from(files).filter((file) => file && typeof file.name === "string");
  if (list.length === 0) return;
  showAlert("");
  const entries = list.map((file) => ({
    id: `f${state.nextId++}`,
    name: file.name,
    size: file.size,
    type: file.type || "",
    file,
    previewUrl: (file.type || "").startsWith("image/") ? URL.createObjectURL(file) : null,
    status: "queued",
    loaded: 0,
    total: file.size,
    message: "",
    objectId: null,
    upload: null,
    retried: false,
    addedAt: Date.now(),
    record: null,
  }));
  state.entries.push(...entries);
  view.setEntries(state.entries);
  queue.add(entries);
  updateProgress();
  ensurePolling();
}

async function presign(entries) {
  let response;
  try {
    response = await state.api.presign(entries.map((e) => ({ name: e.name, type: e.type, size: e.size })), state.batch);
  } catch (err) {
    for (const entry of entries) {
      entry.status = "failed";
      entry.message = `Could not get an upload URL: ${err.message}`;
      changed(entry);
    }
    if (err instanceof ApiError && err.status === 0) showAlert(err.message);
    return;
  }
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
      entry.status = "failed";
      entry.message = "The API did not answer for this file";
    } else if (answer.error) {
      entry.status = "refused";
      entry.message = String(answer.error);
      entry.file = null; // nothing more to send
      if (typeof answer.objectId === "string") { // the API recorded the refusal in the batch
        entry.objectId = answer.objectId;
        state.byObjectId.set(answer.objectId, entry);
      }
    } else if (answer.url && answer.objectId) {
      if (entry.objectId) state.byObjectId.delete(entry.objectId);
      entry.upload = answer;
      entry.objectId = answer.objectId;
      entry.key = answer.key;
      state.byObjectId.set(answer.objectId, entry);
    } else {
      entry.status = "failed";
      entry.message = "The API's answer for this file has no upload URL";
    }
    changed(entry);
  });
}

async function uploadEntry(entry) {
  entry.status = "uploading";
  entry.loaded = 0;
  changed(entry);
  let lastPaint = 0;
  try {
    await postToS3(entry.upload, entry.file, {
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
    entry.status = "pending";
    entry.loaded = entry.size;
    entry.uploadedAt = Date.now();
    state.lastNews = Date.now();
    changed(entry);
    ensurePolling();
  } catch (err) {
    // An expired or refused presigned POST gets one fresh URL and one more try.
    if (!entry.retried && (err.status === 0 || err.status === 403)) {
      entry.retried = true;
      entry.status = "queued";
      entry.upload = null;
      changed(entry);
      queue.add([entry]);
      return;
    }
    entry.status = "failed";
    entry.message = err.message;
    changed(entry);
  }
}

function showLimit(maxBytes) {
  if (state.maxBytes === maxBytes) return;
  state.maxBytes = maxBytes;
  $("limit").textContent = ` Up to ${formatBytes(maxBytes)} each.`;
}

// ---- predictions in ----------------------------------------------------------------------------

function isActive(entry) {
  return ACTIVE.has(entry.status);
}

function ensurePolling() {
  if (state.pollTimer || state.polling) return;
  if (!state.batch || !state.entries.some(isActive)) return;
  $("check-again").hidden = true;
  if (!state.lastNews) state.lastNews = Date.now();
  state.pollTimer = setTimeout(poll, POLL_MS);
}

function applyRecord(record) {
  if (!record || typeof record.object_id !== "string") return false;
  let entry = state.byObjectId.get(record.object_id);
  if (!entry) {
    // A file of this batch uploaded elsewhere (another tab, or this page reloaded).
    entry = {
      id: `r${record.object_id}`, name: record.file_name || record.key || record.object_id, size: record.size,
      type: "", file: null, previewUrl: null, status: "pending", loaded: 0, total: 0, message: "",
      objectId: record.object_id, upload: null, retried: true, addedAt: Date.now(), record: null,
    };
    state.byObjectId.set(record.object_id, entry);
    state.entries.push(entry);
    view.setEntries(state.entries);
  }
  const newer = !entry.record || String(record.classified_at || "") >= String(entry.record.classified_at || "");
  if (!newer) return false;
  // Every reply signs the image link anew: that alone is not news (or polling would never give up).
  const comparable = () => JSON.stringify([entry.status, { ...entry.record, image_url: undefined }]);
  const before = entry.record ? comparable() : null;
  entry.record = record;
  if (entry.status !== "uploading" && entry.status !== "queued") {
    entry.status = ["ok", "refused"].includes(record.status) ? record.status : "rejected";
    if (record.status === "refused" && !entry.message) entry.message = String(record.reason || "");
  }
  if (record.file_name && !entry.file) entry.name = String(record.file_name); // the name as chosen, from the record
  const news = before !== comparable();
  if (news) changed(entry);
  return news;
}

async function poll() {
  state.pollTimer = null;
  if (!state.batch) return;
  state.polling = true;
  try {
    const items = await state.api.predictions({ batch: state.batch });
    let news = false;
    for (const record of items) news = applyRecord(record) || news;
    if (news) state.lastNews = Date.now();
    if ($("alert").dataset.source === "poll") {
      showAlert("");
      delete $("alert").dataset.source;
    }
    state.pollFailures = 0;
  } catch (err) {
    if (err.status === 401 && state.api.auth) return; // signed out: polling resumes after sign-in (#batch is kept)
    state.pollFailures += 1;
    showAlert(`Could not fetch predictions: ${err.message}. Retrying…`);
    $("alert").dataset.source = "poll";
  } finally {
    state.polling = false;
  }
  updateProgress();
  // A batch reopened from a link may still be classifying files this page never saw: keep looking
  // while predictions keep arriving.
  const reopenedAndBusy = state.reopened && Date.now() - state.lastNews < REOPENED_QUIET_MS;
  const waiting = state.entries.some(isActive) || reopenedAndBusy;
  if (!waiting) {
    if (state.reopened) $("check-again").hidden = false;
    return; // all done: stop polling
  }
  if (!queue.busy && Date.now() - state.lastNews > GIVE_UP_MS) {
    $("check-again").hidden = false;
    $("progress-text").textContent = "Some images have not been classified after 5 minutes. Use “Check again” to look once more.";
    return;
  }
  const backoff = Math.min(30_000, POLL_MS * 2 ** state.pollFailures); // an API in trouble is not hammered
  state.pollTimer = setTimeout(poll, backoff);
}

// ---- drag and drop, including folders ----------------------------------------------------------

function readEntries(reader) {
  return new Promise((resolve) => reader.readEntries(resolve, () => resolve([])));
}

async function filesFromEntry(entry, out) {
  if (!entry) return;
  if (entry.isFile) {
    await new Promise((resolve) => entry.file((file) => { out.push(file); resolve(); }, () => resolve()));
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await readEntries(reader);
      if (batch.length === 0) break;
      for (const child of batch) await filesFromEntry(child, out);
    }
  }
}

async function filesFromDrop(dataTransfer) {
  const items = Array.from(dataTransfer.items || []);
  const entries = items.map((item) => (item.kind === "file" && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
  if (entries.some((entry) => entry && entry.isDirectory)) {
    const out = [];
    for (const entry of entries) await filesFromEntry(entry, out);
    return out.filter((file) => !file.name.startsWith("."));
  }
  return Array.from(dataTransfer.files || []);
}

function wireDropZone() {
  const zone = $("dropzone");
  const input = $("file-input");
  zone.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });
  let depth = 0;
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  zone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("dragover");
  });
  zone.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove("dragover");
  });
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragover");
    addFiles(await filesFromDrop(event.dataTransfer));
  });
  // A file dropped beside the zone should not replace the page.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event) && !zone.contains(event.target)) event.preventDefault();
    });
  }
}

// ---- samples, CSV, filters, new batch ----------------------------------------------------------

async function loadSamples() {
  const response = await fetch(SAMPLES_URL);
  if (!response.ok) throw new Error(`${SAMPLES_URL}: HTTP ${response.status}`);
  return response.json();
}

function wireSamples() {
  const list = $("samples-list");
  const button = $("samples-button");
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
      showAlert(`Could not load the sample images: ${err.message}`);
    }
  });
}

/** The whole batch's CSV: a large batch comes in several replies, each naming the next in X-Next-Cursor
 * and repeating the header. */
async function fetchBatchCsv(href) {
  const parts = [];
  let next = href;
  while (next) {
    const response = await state.api.fetch(next, { headers: { Accept: "text/csv" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    parts.push(parts.length ? text.slice(text.indexOf("\n") + 1) : text);
    const cursor = response.headers.get("X-Next-Cursor");
    next = null;
    if (cursor) {
      const following = new URL(href);
      following.searchParams.set("cursor", cursor);
      next = following.toString();
    }
  }
  return parts.join("");
}

function saveText(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const save = el("a", { href: url, download: name, hidden: true });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function wireCsv() {
  // Fetch the CSV and save it under a batch-named file; a plain link if that is not possible.
  $("csv-link").addEventListener("click", async (event) => {
    const link = event.currentTarget;
    if (!link.href || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    try {
      saveText(await fetchBatchCsv(link.href), link.getAttribute("download") || "predictions.csv");
    } catch (err) {
      if (state.api.auth) showAlert(`Could not download the CSV: ${err.message}`); // a plain link carries no token
      else window.location.assign(link.href);
    }
  });
}

// The rows on screen (filter and status as set): the batch's CSV from the API, cut down to their records.
function wireCsvShown() {
  $("csv-shown").addEventListener("click", async () => {
    if (!state.batch) return;
    const ids = new Set(view.visible.map((entry) => entry.objectId).filter(Boolean));
    try {
      const text = await fetchBatchCsv(state.api.csvUrl({ batch: state.batch }));
      saveText(selectRows(text, ids), `spotter-${state.batch}-shown.csv`);
    } catch (err) {
      showAlert(`Could not download the CSV: ${err.message}`);
    }
  });
}

function wireFilters() {
  const text = $("filter-text");
  const group = $("filter-status");
  const apply = () => view.setFilter(text.value, group.value);
  text.addEventListener("input", apply);
  group.addEventListener("change", apply);
}

function wireNewBatch() {
  $("new-batch").addEventListener("click", () => {
    clearBatch();
    $("progress-text").textContent = "New batch: choose images to upload.";
    $("dropzone").focus();
  });
  $("check-again").addEventListener("click", () => {
    state.lastNews = Date.now();
    $("check-again").hidden = true;
    if (!state.pollTimer && !state.polling) poll();
  });
}

async function loadModelCard() {
  const container = $("model-card");
  try {
    const card = await state.api.model();
    state.card = card;
    setLabels(card.labels);
    for (const entry of state.entries) view.update(entry); // label colours and shapes follow the card's order
    renderCard(card, container);
    if (card.disclaimer) showDisclaimer(String(card.disclaimer));
    if (card.name) $("model-name").textContent = `${card.name}${card.version ? ` ${card.version}` : ""}`;
  } catch (err) {
    container.textContent = `The model card could not be loaded: ${err.message}`;
  }
}

// The disclaimer is open the first time this browser shows it (or when its text changes), and a
// one-line summary that opens it on later visits, so it no longer fills a phone's first screen.
const DISCLAIMER_SEEN = "spotter.disclaimerSeen";

function showDisclaimer(text) {
  $("disclaimer-text").textContent = text;
  const first = text.split(/(?<=\.)\s/)[0];
  $("disclaimer-summary").textContent = first.length < 160 ? `: ${first}` : "";
  let seen = null;
  try {
    seen = state.storage.getItem(DISCLAIMER_SEEN);
    state.storage.setItem(DISCLAIMER_SEEN, text);
  } catch {
    /* no storage: always open */
  }
  $("disclaimer-details").open = seen !== text;
  $("disclaimer").hidden = false;
}

// ---- detail view, my batches, deleting a batch -------------------------------------------------

function confirmDeletion(batch, preview) {
  const dialog = $("confirm-delete");
  const item = batchList.items.find((b) => b.batch === batch);
  const { lines, items, names, more } = deletionText(batch, item && item.name, preview);
  const box = clear($("confirm-text"));
  box.append(...lines.map((line) => el("p", { text: line })), el("ul", {}, items.map((text) => el("li", { text }))));
  if (names.length) {
    box.append(el("p", { text: "The files:" }), el("ul", { class: "confirm-names" }, names.map((name) => el("li", { text: name }))));
    if (more > 0) box.append(el("p", { class: "meta", text: `and ${more} more` }));
  }
  box.append(el("p", { class: "strong", text: "This cannot be undone." }));
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.removeEventListener("close", onClose);
      $("confirm-ok").onclick = null;
      $("confirm-cancel").onclick = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onClose = () => done(false);
    dialog.addEventListener("close", onClose);
    $("confirm-ok").onclick = () => done(true);
    $("confirm-cancel").onclick = () => done(false);
    dialog.showModal();
    $("confirm-cancel").focus(); // the safe choice first
  });
}

function openBatch(batch) {
  if (batch === state.batch) {
    $("results").focus();
    return;
  }
  window.location.hash = `#batch=${encodeURIComponent(batch)}`; // the hashchange handler reopens it
}

function clearBatch() {
  for (const entry of state.entries) if (entry.previewUrl) URL.revokeObjectURL(entry.previewUrl);
  state.entries = [];
  state.byObjectId.clear();
  state.lastNews = 0;
  setBatch(null);
  view.setEntries(state.entries);
  lastAnnounced = "";
  updateProgress();
}

// ---- researcher sign-in (only when config.json has "auth") ------------------------------------

function renderAuth(auth) {
  const signedIn = auth.signedIn;
  $("auth-bar").hidden = false;
  $("auth-signed-in").hidden = !signedIn;
  $("auth-email").textContent = signedIn ? auth.email : "";
  $("sign-out").hidden = !signedIn;
  $("auth-signed-out").hidden = signedIn;
  $("sign-in").hidden = signedIn;
  for (const id of ["dropzone", "samples-button"]) $(id).disabled = !signedIn;
}

function wireAuth(auth) {
  $("sign-in").addEventListener("click", () => auth.signIn().catch((err) => showAlert(err.message)));
  $("sign-out").addEventListener("click", () => auth.signOut());
  auth.onChange(() => {
    renderAuth(auth);
    if (!auth.signedIn) showAlert("You are signed out. Sign in again to continue.");
  });
}

async function main() {
  view = new ResultsView({
    table: $("results-table"), body: $("results-body"), empty: $("results-empty"), count: $("results-count"),
    onOpen: (entry) => detail.open(entry),
    onRender: () => renderSummary(),
  });
  detail = new DetailView($("detail"), { getCard: () => state.card, getVisible: () => view.visible });
  queue = new UploadQueue({ presign, upload: uploadEntry, changed: () => updateProgress() }, { concurrency: CONCURRENCY });
  wireDropZone();
  wireSamples();
  wireCsv();
  wireCsvShown();
  wireFilters();
  wireNewBatch();
  view.setEntries(state.entries);
  let config;
  let auth = null;
  try {
    config = await loadConfig();
    if (config.auth) auth = new Auth(config.auth);
  } catch (err) {
    showAlert(`${err.message}. The page cannot reach the Spotter API.`);
    $("model-card").textContent = "Not available: no API address.";
    for (const id of ["dropzone", "samples-button"]) $(id).disabled = true;
    return;
  }
  state.api = new Api(config.apiUrl, auth);
  state.storage = auth ? sessionStorage : localStorage; // signed in: nothing of the user outlives the session
  batchList = new BatchList({
    list: $("batches-list"), empty: $("batches-empty"), where: $("batches-where"), api: state.api,
    current: () => state.batch, onOpen: openBatch, confirm: confirmDeletion, storage: state.storage,
    onDeleted: (batch) => {
      if (batch !== state.batch) return;
      clearBatch();
      $("progress-text").textContent = "The batch was deleted: its images and results are gone.";
    },
  });
  if (auth) {
    wireAuth(auth);
    try {
      await auth.start(); // finishes a sign-in coming back from the hosted UI
    } catch (err) {
      showAlert(err.message);
    }
    renderAuth(auth);
    if (!auth.signedIn) {
      $("model-card").textContent = "Sign in to see the model card.";
      document.body.dataset.ready = "true";
      return;
    }
  }
  document.body.dataset.ready = "true";
  loadModelCard();
  if (auth) batchList.refreshFromApi();
  else batchList.render();
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("batch");
  setBatch(fromHash);
  if (fromHash) {
    // Reopened with #batch=...: show what the API has for it.
    state.reopened = true;
    state.lastNews = Date.now();
    poll();
  }
  updateProgress();
  // Another batch's link pasted into this tab: open it afresh (replaceState above fires no hashchange).
  window.addEventListener("hashchange", () => {
    const batch = new URLSearchParams(window.location.hash.slice(1)).get("batch");
    if (batch && batch !== state.batch) window.location.reload();
  });
}

main();
