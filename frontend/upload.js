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
 * @param {{onProgress?: (loaded: number, total: number) => void, timeoutMs?: number}} [options]
 * @returns {Promise<number>}
 */
export function postToS3(upload, file, { onProgress, timeoutMs = 10 * 60 * 1000 } = {}) {
  return new Promise((resolve, reject) => {
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
    xhr.send(form);
  });
}

/**
 * A queue that asks the API for presigned POSTs just in time and runs `concurrency` uploads at
 * once. A chunk is no larger than what can start soon, so that on a slow link no signed form waits
 * behind other uploads until it expires (the API's forms last 5 minutes).
 *
 * hooks: presign(entries) -> Promise (sets entry.upload or marks entry refused/failed),
 *        upload(entry) -> Promise, changed().
 * @template {{upload: unknown, status: string}} E
 */
export class UploadQueue {
  /**
   * @param {{presign: (entries: E[]) => Promise<void>, upload: (entry: E) => Promise<void>, changed: () => void}} hooks
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
  }

  /** @param {E[]} entries */
  add(entries) {
    this.unsigned.push(...entries);
    this.pump();
  }

  get busy() {
    return this.active > 0 || this.signing !== null || this.unsigned.length > 0 || this.ready.length > 0;
  }

  pump() {
    while (this.active < this.concurrency && this.ready.length > 0) {
      const entry = /** @type {E} */ (this.ready.shift());
      this.active += 1;
      Promise.resolve()
        .then(() => this.hooks.upload(entry))
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
      this.signing = Promise.resolve()
        .then(() => this.hooks.presign(chunk))
        .catch(() => {})
        .finally(() => {
          this.signing = null;
          for (const entry of chunk) if (entry.upload && entry.status === STATUS.QUEUED) this.ready.push(entry);
          this.hooks.changed();
          this.pump();
        });
    }
  }
}
