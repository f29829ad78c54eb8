// @ts-check
// Every element of index.html the page's code reaches by id, looked up once and checked: a renamed id
// fails loudly at start-up instead of as a null deep inside a handler.

/**
 * @template {Element} T
 * @param {Document} doc @param {string} id @param {{new (): T, prototype: T}} kind
 * @returns {T}
 */
function byId(doc, id, kind) {
  const node = doc.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`index.html: #${id} is missing or not a ${kind.name}`);
  return node;
}

/** @param {Document} [doc] */
export function findElements(doc = document) {
  const E = HTMLElement;
  return {
    // sign-in bar
    authBar: byId(doc, "auth-bar", E),
    authSignedIn: byId(doc, "auth-signed-in", E),
    authSignedOut: byId(doc, "auth-signed-out", E),
    authEmail: byId(doc, "auth-email", E),
    signIn: byId(doc, "sign-in", HTMLButtonElement),
    signOut: byId(doc, "sign-out", HTMLButtonElement),
    // header and disclaimer
    modelName: byId(doc, "model-name", E),
    disclaimer: byId(doc, "disclaimer", E),
    disclaimerDetails: byId(doc, "disclaimer-details", HTMLDetailsElement),
    disclaimerSummary: byId(doc, "disclaimer-summary", E),
    disclaimerText: byId(doc, "disclaimer-text", E),
    alert: byId(doc, "alert", E),
    // files in
    dropzone: byId(doc, "dropzone", HTMLButtonElement),
    limit: byId(doc, "limit", E),
    fileInput: byId(doc, "file-input", HTMLInputElement),
    dropNote: byId(doc, "drop-note", E),
    samples: byId(doc, "samples", E),
    samplesButton: byId(doc, "samples-button", HTMLButtonElement),
    samplesList: byId(doc, "samples-list", E),
    // progress and the batch
    progressSection: byId(doc, "progress-section", E),
    uploadProgress: byId(doc, "upload-progress", HTMLProgressElement),
    uploadProgressText: byId(doc, "upload-progress-text", E),
    classifyProgress: byId(doc, "classify-progress", HTMLProgressElement),
    progressText: byId(doc, "progress-text", E),
    retryFailed: byId(doc, "retry-failed", HTMLButtonElement),
    batchNotice: byId(doc, "batch-notice", E),
    batchNoticeText: byId(doc, "batch-notice-text", E),
    noticeNewBatch: byId(doc, "notice-new-batch", HTMLButtonElement),
    noticeCheckAgain: byId(doc, "notice-check-again", HTMLButtonElement),
    batchId: byId(doc, "batch-id", E),
    csvLink: byId(doc, "csv-link", HTMLAnchorElement),
    checkAgain: byId(doc, "check-again", HTMLButtonElement),
    newBatch: byId(doc, "new-batch", HTMLButtonElement),
    // results
    results: byId(doc, "results", E),
    filterText: byId(doc, "filter-text", HTMLInputElement),
    filterStatus: byId(doc, "filter-status", HTMLSelectElement),
    resultsCount: byId(doc, "results-count", E),
    csvShown: byId(doc, "csv-shown", HTMLButtonElement),
    batchSummary: byId(doc, "batch-summary", E),
    batchTotals: byId(doc, "batch-totals", E),
    scorePanel: byId(doc, "score-panel", E),
    truthButton: byId(doc, "truth-button", HTMLButtonElement),
    truthInput: byId(doc, "truth-input", HTMLInputElement),
    truthStatus: byId(doc, "truth-status", E),
    scoreResult: byId(doc, "score-result", E),
    resultsEmpty: byId(doc, "results-empty", E),
    resultsTable: byId(doc, "results-table", HTMLTableElement),
    resultsBody: byId(doc, "results-body", HTMLTableSectionElement),
    // my batches, the model card
    batchesWhere: byId(doc, "batches-where", E),
    batchesEmpty: byId(doc, "batches-empty", E),
    batchesList: byId(doc, "batches-list", E),
    modelCard: byId(doc, "model-card", E),
    // dialogs
    detail: byId(doc, "detail", HTMLDialogElement),
    confirmDelete: byId(doc, "confirm-delete", HTMLDialogElement),
    confirmText: byId(doc, "confirm-text", E),
    confirmCancel: byId(doc, "confirm-cancel", HTMLButtonElement),
    confirmOk: byId(doc, "confirm-ok", HTMLButtonElement),
  };
}

/** @typedef {ReturnType<typeof findElements>} Elements */
