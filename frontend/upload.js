// @ts-check
// Browser -> S3 uploads with presigned POSTs, a few at a time, with per-file progress.

import { STATUS } from "./status.js";

export class UploadError extends Error {
  /** @param {string} message @param {number} [status] HTTP status, 0 when there was no answer */
  constructor(message, status = 0) {
    super(message);
    this.name = "UploadError";
    this.status = status;
  }
}

/** @param {XMLHttpRequest} xhr */
function s3Message(xhr) {
  const text = xhr.responseText || "";
  try {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    const message = doc.querySelector("Error > Message");
    const code = doc.querySelector("Error > Code");
    if (message && message.textContent) return code ? `${code.textContent}: ${message.textContent}` : message.textContent;
  } catch {
    /* not XML */
  }
  return `storage answered HTTP ${xhr.status}`;
}

/**
 * POST `file` to S3 as multipart/form-data: every presigned field first, the file last as "file".
 * `onProgress(loaded, total)` follows XMLHttpRequest upload progress events.
 * @param {{url: string, fields?: Record<string, string>}} upload
 * @param {File} file
 * `signal` aborts the upload (its batch was deleted): the promise rejects with "upload cancelled".
 * @param {{onProgress?: (loaded: number, total: number) => void, timeoutMs?: number, signal?: AbortSignal}} [options]
 * @returns {Promise<number>}
 */
export function postToS3(upload, file, { onProgress, timeoutMs = 10 * 60 * 1000, signal } = {}) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(new UploadError("upload cancelled"));
      return;
    }
    const form = new FormData();
    for (const [key, value] of Object.entries(upload.fields || {})) form.append(key, value);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.timeout = timeoutMs;
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
      });
    }
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.status);
      else reject(new UploadError(s3Message(xhr), xhr.status));
    });
    xhr.addEventListener("error", () => reject(new UploadError("network error while uploading")));
    xhr.addEventListener("timeout", () => reject(new UploadError("upload timed out")));
    xhr.addEventListener("abort", () => reject(new UploadError("upload cancelled")));
    if (signal) signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

/**
 * A queue that asks the API for presigned POSTs just in time and runs `concurrency` uploads at
 * once. A chunk is no larger than what can start soon, so that on a slow link no signed form waits
 * behind other uploads until it expires (the API's forms last 5 minutes).
 *
 * `cancel()` (the batch was deleted) drops every file not yet sent, aborts the uploads under way and
 * the signing in flight: each hook gets an AbortSignal, aborted then, and must write nothing (no
 * batch id, no status) once it is.
 *
 * hooks: presign(entries, signal) -> Promise (sets entry.upload or marks entry refused/failed),
 *        upload(entry, signal) -> Promise, changed().
 * @template {{upload: unknown, status: string}} E
 */
export class UploadQueue {
  /**
   * @param {{presign: (entries: E[], signal: AbortSignal) => Promise<void>, upload: (entry: E, signal: AbortSignal) => Promise<void>, changed: () => void}} hooks
   * @param {{concurrency?: number, chunk?: number}} [options]
   */
  constructor(hooks, { concurrency = 4, chunk = undefined } = {}) {
    this.hooks = hooks;
    this.concurrency = concurrency;
    this.chunk = chunk ?? concurrency;
    /** @type {E[]} */
    this.unsigned = [];
    /** @type {E[]} */
    this.ready = [];
    this.active = 0;
    /** @type {Promise<void> | null} */
    this.signing = null;
    /** Aborted by `cancel`; a fresh one for what is added after. */
    this.controller = new AbortController();
  }

  /** @param {E[]} entries */
  add(entries) {
    this.unsigned.push(...entries);
    this.pump();
  }

  get busy() {
    return this.active > 0 || this.signing !== null || this.unsigned.length > 0 || this.ready.length > 0;
  }

  /**
   * Stops everything queued and under way: returns the entries that were never sent (the caller
   * marks them). Uploads under way are aborted (their hook sees its signal aborted).
   * @returns {E[]}
   */
  cancel() {
    const dropped = [...this.unsigned, ...this.ready];
    this.unsigned = [];
    this.ready = [];
    this.controller.abort();
    this.controller = new AbortController();
    return dropped;
  }

  pump() {
    while (this.active < this.concurrency && this.ready.length > 0) {
      const entry = /** @type {E} */ (this.ready.shift());
      const signal = this.controller.signal;
      this.active += 1;
      Promise.resolve()
        .then(() => this.hooks.upload(entry, signal))
        .catch(() => {})
        .finally(() => {
          this.active -= 1;
          this.hooks.changed();
          this.pump();
        });
    }
    // Sign the next chunk while there is room for more uploads than are ready.
    if (this.signing === null && this.unsigned.length > 0 && this.ready.length < this.concurrency) {
      const chunk = this.unsigned.splice(0, this.chunk);
      const signal = this.controller.signal;
      this.signing = Promise.resolve()
        .then(() => this.hooks.presign(chunk, signal))
        .catch(() => {})
        .finally(() => {
          this.signing = null;
          if (!signal.aborted) {
            for (const entry of chunk) if (entry.upload && entry.status === STATUS.QUEUED) this.ready.push(entry);
          }
          this.hooks.changed();
          this.pump();
        });
    }
  }
}
