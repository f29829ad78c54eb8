// @ts-check
// "My batches": past batches, newest first, with counts; rename, reopen, delete (after a confirmation
// that says exactly what goes). With sign-in off the list of batches lives in this browser's localStorage;
// with sign-in on it comes from GET /batches, and names given here last for the session (sessionStorage:
// nothing of a signed-in user stays in the browser after sign-out). Either way the counts are the
// server's, read again whenever the list is shown (refresh): a batch closed mid-upload shows what became of
// it, and one deleted elsewhere (or that never stored anything) leaves the list.

import { el, clear, formatDateTime, isolated, userText } from "./dom.js";
import { ApiError } from "./api.js";
import { OUT_OF_DOMAIN } from "./status.js";
import { NOTHING_FOUND } from "./decisions.js";

/** @typedef {{batch: string, name?: string, createdAt?: string, updatedAt?: string, files?: number, byOutcome?: Record<string, number>}} BatchItem */
/** @typedef {import("./api.js").DeletionPreview} DeletionPreview */

const STORE_KEY = "spotter.batches.v1";
const MAX_KEPT = 200;
/** A batch this browser touched this recently, and that has no results yet, may still have files on their
 * way (no record yet): not taken for gone when the server has nothing of it. */
const QUIET_MS = 2 * 60 * 1000;

/** @param {Storage} storage @returns {BatchItem[]} */
function load(storage) {
  try {
    const list = JSON.parse(storage.getItem(STORE_KEY) || "[]");
    return Array.isArray(list) ? list.filter((b) => b && typeof b.batch === "string") : [];
  } catch {
    return [];
  }
}

/** @param {Storage} storage @param {BatchItem[]} list */
function save(storage, list) {
  try {
    storage.setItem(STORE_KEY, JSON.stringify(list.slice(0, MAX_KEPT)));
  } catch {
    /* storage full or off: the list lasts as long as the tab */
  }
}

/** An outcome as the page says it: the API's keys are the records' decisions (or labels), `ok` for a
 * classified record with neither (a detector that found nothing). @param {string} outcome */
export function outcomeWords(outcome) {
  if (outcome === OUT_OF_DOMAIN) return "out of domain";
  if (outcome === "ok" || outcome === NOTHING_FOUND) return "nothing found";
  return outcome;
}

/** "4 files: 3 benign, 1 rejected" @param {BatchItem} item */
export function countsText(item) {
  /** @type {Map<string, number>} */
  const words = new Map();
  for (const [outcome, n] of Object.entries(item.byOutcome || {})) words.set(outcomeWords(outcome), (words.get(outcomeWords(outcome)) || 0) + n);
  const parts = [...words].map(([text, n]) => `${n} ${text}`);
  const files = item.files || 0;
  return `${files} file${files === 1 ? "" : "s"}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

/** @param {BatchItem} item */
function createdTime(item) {
  const time = Date.parse(item.createdAt || item.updatedAt || "");
  return Number.isNaN(time) ? 0 : time;
}

/** Newest first by when each batch was created (ties by id, newest-looking first): opening an older one
 * marks it, never moves it. @param {BatchItem[]} items @returns {BatchItem[]} */
export function sortBatches(items) {
  return items.slice().sort((a, b) => createdTime(b) - createdTime(a) || b.batch.localeCompare(a.batch));
}

export class BatchList {
  /**
   * @param {{list: HTMLElement, empty: HTMLElement, where: HTMLElement, api: import("./api.js").Api,
   *   current: () => string | null, onOpen: (batch: string) => void | Promise<void>, onDeleted: (batch: string) => void,
   *   onDeleting?: (batch: string) => void | Promise<void>, signedIn?: boolean, onFocusLost?: () => void,
   *   busy?: (batch: string) => {uploads: number, held: string | null} | null,
   *   ask?: (title: string, lines: string[], ok: string, cancel: string) => Promise<boolean>,
   *   confirm: (batch: string, preview: DeletionPreview) => Promise<boolean>, storage: Storage}} options
   */
  constructor({ list, empty, where, api, current, onOpen, onDeleted, onDeleting, confirm, storage, signedIn = false, busy, ask, onFocusLost }) {
    this.onFocusLost = onFocusLost || (() => {}); // focus had nowhere to go back to (its batch deleted, the list empty)
    this.busy = busy || (() => null); // the batch on screen still uploading (or holding a diagnoses file)
    this.ask = ask || (async () => true);
    this.storage = storage;
    this.signedIn = signedIn; // the API's list is the list (GET /batches reads the user's own)
    /** @type {Promise<void> | null} */
    this.refreshing = null;
    this.list = list;
    this.empty = empty;
    this.where = where;
    this.api = api;
    this.current = current; // () => the batch on screen
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.onDeleting = onDeleting || (() => {}); // confirmed: stop sending into it before the delete is asked
    this.confirm = confirm; // (batch, preview) => Promise<boolean>
    this.items = load(storage);
    this.fromApi = false;
  }

  /** Record the batch on screen (created now, or updated counts). `createdAt`: when its first file was
   * uploaded, if known (a batch reopened from a link this browser has not listed yet). */
  /** @param {string} batch @param {{files: number, byOutcome: Record<string, number>, createdAt?: string}} counts */
  remember(batch, { files, byOutcome, createdAt }) {
    if (!batch) return;
    let item = this.items.find((b) => b.batch === batch);
    if (!item) {
      item = { batch, name: "", createdAt: createdAt || new Date().toISOString() };
      this.items.unshift(item);
    }
    item.files = files;
    item.byOutcome = byOutcome;
    item.updatedAt = new Date().toISOString();
    save(this.storage, this.items);
    this.render();
  }

  /** Signed in: the API's list of the user's batches, names from this browser. */
  async refreshFromApi() {
    try {
      const reply = await this.api.batches();
      const names = new Map(this.items.map((b) => [b.batch, b.name]));
      this.items = reply.map((b) => ({
        batch: b.batch, name: names.get(b.batch) || "", createdAt: b.first_upload, updatedAt: b.last_upload,
        files: b.files, byOutcome: b.by_outcome,
      }));
      this.fromApi = true;
      save(this.storage, this.items);
    } catch {
      /* keep the local list */
    }
    this.render();
  }

  /** The counts from the server, now (the list is shown): signed in, the API's list is the list; signed out,
   * this browser's batches get the server's counts, and a batch the server has nothing of (deleted
   * elsewhere, or never stored anything) leaves the list, unless it is on screen or was busy moments ago.
   * @returns {Promise<void>} */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = (this.signedIn ? this.refreshFromApi() : this.refreshCounts()).finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  async refreshCounts() {
    let reply;
    try {
      reply = await this.api.batches();
    } catch {
      this.render(); // the API is away: the list as it was
      return;
    }
    const byName = new Map(reply.map((b) => [b.batch, b]));
    const now = Date.now();
    /** @type {BatchItem[]} */
    const missing = [];
    for (const item of this.items) {
      if (item.batch === this.current()) continue; // the page's own counts are newer than any list's
      const summary = byName.get(item.batch);
      if (summary) {
        item.files = summary.files;
        item.byOutcome = summary.by_outcome;
        if (summary.first_upload) item.createdAt = summary.first_upload;
      } else if (Object.keys(item.byOutcome || {}).length > 0 || now - (Date.parse(item.updatedAt || "") || 0) > QUIET_MS) {
        missing.push(item); // it had results, or has been quiet a while: if the server has nothing, it is gone
      }
    }
    // Not in the list: older than its 90 days, or gone. GET /batches/{b} says which (404: nothing stored).
    for (const item of missing) {
      try {
        const preview = await this.api.batch(item.batch);
        item.files = preview.files;
        const byOutcome = /** @type {{by_outcome?: Record<string, number>}} */ (preview).by_outcome;
        if (byOutcome) item.byOutcome = byOutcome;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) this.items = this.items.filter((b) => b.batch !== item.batch);
      }
    }
    save(this.storage, this.items);
    this.render();
  }

  /** What the server has of a batch left mid-upload (GET /batches/{b}): its counts, not the page's.
   * @param {string} batch @param {{files?: number, by_outcome?: Record<string, number>}} preview */
  settle(batch, preview) {
    const item = this.items.find((b) => b.batch === batch);
    if (!item) return;
    item.files = preview.files || 0;
    if (preview.by_outcome) item.byOutcome = preview.by_outcome;
    save(this.storage, this.items);
    this.render();
  }

  /** @param {string} batch @param {string} name */
  rename(batch, name) {
    const item = this.items.find((b) => b.batch === batch);
    if (!item) return;
    item.name = name.trim().slice(0, 120);
    save(this.storage, this.items);
    this.render();
  }

  /** @param {string} batch */
  forget(batch) {
    this.items = this.items.filter((b) => b.batch !== batch);
    save(this.storage, this.items);
    this.render();
  }

  /** @param {string} batch */
  async remove(batch) {
    let preview;
    try {
      preview = await this.api.batch(batch);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      // nothing stored under it: every file failed to upload, or its first ones are still on their way
      const busy = batch === this.current() ? this.busy(batch) : null;
      if (!busy) {
        this.forget(batch);
        return;
      }
      if (!(await this.ask("Stop this batch?", stopLines(busy), "Stop and delete", "Keep uploading"))) return;
      await this.onDeleting(batch); // the queue stopped: whatever landed meanwhile goes with the delete
      try {
        await this.api.deleteBatch(batch);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
      this.forget(batch);
      this.onDeleted(batch);
      return;
    }
    if (!(await this.confirm(batch, preview))) return;
    await this.onDeleting(batch);
    await this.api.deleteBatch(batch);
    this.forget(batch);
    this.onDeleted(batch);
  }

  render() {
    // the list is drawn afresh: the button that had focus gets it back (same batch, same button)
    const active = document.activeElement;
    const focused = active instanceof HTMLElement && this.list.contains(active) ? this.focusKey(active) : null;
    clear(this.list);
    this.where.textContent = this.fromApi
      ? "Your batches of the last 90 days, from Spotter. Names you give them last until you sign out or close the tab."
      : "Kept in this browser (localStorage): another browser or device has its own list. The counts are Spotter's, read again when the list is shown.";
    this.empty.hidden = this.items.length > 0;
    // Newest first by when each batch was created: opening an older one marks it, never moves it.
    const sorted = sortBatches(this.items);
    for (const item of sorted) {
      const title = item.name || `Batch ${item.batch}`;
      const isCurrent = item.batch === this.current();
      const open = el("button", { type: "button", class: "link-button batch-open", "aria-current": isCurrent ? "true" : null },
        item.name ? userText(item.name) : title); // the name as typed, isolated (bidi) and breakable
      open.addEventListener("click", async () => {
        await this.onOpen(item.batch);
        this.refocus(item.batch, ".batch-open"); // stayed (the list may have been drawn afresh meanwhile)
      });
      const rename = el("button", { type: "button", class: "button secondary small", "aria-label": `Rename ${title}` }, "Rename");
      const remove = el("button", { type: "button", class: "button danger small", "aria-label": `Delete ${title}` }, "Delete");
      const li = el("li", { class: "batch-item", "data-batch": item.batch },
        el("div", { class: "batch-main" }, open, isCurrent ? el("span", { class: "meta inline", text: " (on screen)" }) : null,
          el("span", { class: "meta" }, el("time", { datetime: item.createdAt || "", class: "when", text: formatDateTime(item.createdAt) }),
            ` · ${countsText(item)}`),
          item.name ? el("span", { class: "meta", text: `id ${item.batch}` }) : null),
        el("div", { class: "batch-actions" }, rename, remove));
      rename.addEventListener("click", () => this.editName(li, item));
      remove.addEventListener("click", () => {
        const order = sortBatches(this.items).map((b) => b.batch);
        this.remove(item.batch).then(() => this.refocus(item.batch, ".danger", order), (err) => {
          const shown = this.list.querySelector(`li[data-batch="${CSS.escape(item.batch)}"]`) || li;
          shown.append(el("p", { class: "reason", role: "alert", text: `Could not delete: ${err.message}` }));
          this.refocus(item.batch, ".danger", order);
        });
      });
      this.list.append(li);
    }
    if (focused) this.refocus(focused.batch, focused.button);
  }

  /** Which batch's which button `element` is. @param {HTMLElement} element
   * @returns {{batch: string, button: string} | null} */
  focusKey(element) {
    const li = element.closest("li[data-batch]");
    if (!(li instanceof HTMLElement) || !li.dataset.batch) return null;
    const button = element.classList.contains("batch-open") ? ".batch-open" : element.classList.contains("danger") ? ".danger" : ".batch-actions .secondary";
    return { batch: li.dataset.batch, button };
  }

  /** Focus `batch`'s `button` again (after a dialog, or the list drawn afresh); when the batch left the list,
   * its neighbour's, or somewhere sensible (onFocusLost). Only where focus was lost.
   * @param {string} batch @param {string} button a selector within the batch's item @param {string[]} [order] the batches
   * listed before (for the neighbour) */
  refocus(batch, button, order = []) {
    const active = document.activeElement;
    const lost = !active || active === document.body || !active.isConnected || Boolean(active.closest("dialog:not([open])"));
    if (!lost) return; // focus went somewhere on purpose
    const within = (/** @type {string} */ b) => this.list.querySelector(`li[data-batch="${CSS.escape(b)}"] ${button}`);
    let target = within(batch);
    if (!target) {
      const at = order.indexOf(batch);
      const near = [...order.slice(at + 1), ...order.slice(0, Math.max(0, at)).reverse()];
      for (const b of near) {
        target = this.list.querySelector(`li[data-batch="${CSS.escape(b)}"] .batch-open`);
        if (target) break;
      }
    }
    if (target instanceof HTMLElement) target.focus();
    else this.onFocusLost();
  }

  /** @param {HTMLElement} li @param {BatchItem} item */
  editName(li, item) {
    const input = el("input", { type: "text", value: item.name || "", maxlength: 120, "aria-label": `New name for batch ${item.batch}` });
    const ok = el("button", { type: "submit", class: "button small" }, "Save");
    const cancel = el("button", { type: "button", class: "button secondary small" }, "Cancel");
    const form = el("form", { class: "rename-form" }, input, ok, cancel);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.rename(item.batch, input.value);
      this.focusItem(item.batch);
    });
    cancel.addEventListener("click", () => { this.render(); this.focusItem(item.batch); });
    li.querySelector(".batch-actions")?.replaceWith(form);
    input.focus();
    input.select();
  }

  /** @param {string} batch */
  focusItem(batch) {
    const button = this.list.querySelector(`li[data-batch="${CSS.escape(batch)}"] .batch-open`);
    if (button instanceof HTMLElement) button.focus();
  }
}

/** Deleting the batch on screen before anything of it is stored. @param {{uploads: number, held: string | null}} busy */
export function stopLines({ uploads, held }) {
  const files = `${uploads} upload${uploads === 1 ? "" : "s"}`;
  return [
    uploads > 0 ? `Nothing of this batch is stored yet; stop its ${files}?` : "Nothing of this batch is stored yet; stop it?",
    ...(held ? [`Your diagnoses file ${held}, held here, is dropped too.`] : []),
    "Anything that was stored meanwhile is deleted.",
  ];
}

/** The confirmation's text: exactly what deleting the batch removes.
 * @param {string} batch @param {string | undefined} name @param {DeletionPreview} preview */
export function deletionText(batch, name, preview) {
  const stored = preview.images || 0;
  const refused = (preview.files || 0) - stored;
  const lines = [
    `“${isolated(name || batch)}” (batch ${batch}) holds ${preview.files} file${preview.files === 1 ? "" : "s"}. Deleting it removes, for good:`,
  ];
  const items = [
    `${stored} uploaded image${stored === 1 ? "" : "s"} from storage, with every stored version of each`,
    `${preview.records} result record${preview.records === 1 ? "" : "s"} (predictions, rejections${refused ? `, ${refused} refusal${refused === 1 ? "" : "s"}` : ""}), so they leave every list and CSV`,
  ];
  const names = Array.isArray(preview.names) ? preview.names : [];
  const more = (preview.files || 0) - names.length;
  return { lines, items, names, more };
}
