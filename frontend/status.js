// @ts-check
// The status vocabulary, defined once: where each file stands on this page, and what the API's records say.
// Every other module names a status through STATUS (or the sets below), never as a bare string.

/** @typedef {"queued" | "uploading" | "pending" | "ok" | "rejected" | "refused" | "failed"} Status */

/** A file's status on this page. `ok`, `rejected` and `refused` are also what the API's records carry. */
export const STATUS = Object.freeze({
  QUEUED: /** @type {"queued"} */ ("queued"), // waiting for an upload URL or a free upload slot
  UPLOADING: /** @type {"uploading"} */ ("uploading"),
  PENDING: /** @type {"pending"} */ ("pending"), // uploaded, waiting for its prediction
  OK: /** @type {"ok"} */ ("ok"), // classified
  REJECTED: /** @type {"rejected"} */ ("rejected"), // uploaded, but the classifier could not use it
  REFUSED: /** @type {"refused"} */ ("refused"), // the API would not take it (type, size, name...)
  FAILED: /** @type {"failed"} */ ("failed"), // the upload itself failed
});

/** The decision a classified image gets when its score falls inside the model's uncertain band. */
export const UNCERTAIN = "uncertain";

/** The decision a classified image gets when the card's domain check finds it unlike the training photos
 * (its scores are kept, but it is not assessed). */
export const OUT_OF_DOMAIN = "out_of_domain";

/** @type {Readonly<Record<Status, string>>} */
export const STATUS_TEXT = Object.freeze({
  queued: "Waiting",
  uploading: "Uploading",
  pending: "Classifying…",
  ok: "Classified",
  rejected: "Rejected",
  refused: "Refused",
  failed: "Upload failed",
});

/** Still waiting for something: an upload or a prediction. @type {ReadonlySet<string>} */
export const ACTIVE = new Set([STATUS.QUEUED, STATUS.UPLOADING, STATUS.PENDING]);

/** Came to nothing: the "Problems" filter. @type {ReadonlySet<string>} */
export const PROBLEM = new Set([STATUS.REJECTED, STATUS.REFUSED, STATUS.FAILED]);

/** Finished, one way or another: what the batch summary counts. @type {ReadonlySet<string>} */
export const FINISHED = new Set([STATUS.OK, ...PROBLEM]);

/** The words a status is shown with; an unknown one is shown as it is. @param {string} status */
export function statusText(status) {
  return Object.prototype.hasOwnProperty.call(STATUS_TEXT, status) ? STATUS_TEXT[/** @type {Status} */ (status)] : status;
}

/** The page's status for a record from the API: ok and refused as they are, anything else rejected.
 * @param {unknown} recordStatus
 * @returns {Status} */
export function statusOfRecord(recordStatus) {
  if (recordStatus === STATUS.OK) return STATUS.OK;
  if (recordStatus === STATUS.REFUSED) return STATUS.REFUSED;
  return STATUS.REJECTED;
}
