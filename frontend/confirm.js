// @ts-check
// The confirmation before a batch is deleted: a modal <dialog> that says exactly what goes, with
// "Cancel" focused first; closed, focus returns to what had it (a caller whose action removed that puts it
// somewhere sensible: batches.js refocus).

import { el, clear, userText } from "./dom.js";
import { deletionText } from "./batches.js";

/**
 * Ask whether to delete `batch`; resolves true only on "Delete".
 * @param {{confirmDelete: HTMLDialogElement, confirmText: HTMLElement, confirmOk: HTMLButtonElement, confirmCancel: HTMLButtonElement}} els
 * @param {string} batch @param {string | undefined} name the name given to it here, if any
 * @param {import("./batches.js").DeletionPreview} preview what the API says deleting it removes
 * @returns {Promise<boolean>}
 */
export function confirmDeletion(els, batch, name, preview) {
  const { lines, items, names, more } = deletionText(batch, name, preview);
  const box = clear(els.confirmText);
  box.append(...lines.map((line) => el("p", { text: line })), el("ul", {}, items.map((text) => el("li", { text }))));
  if (names.length) {
    box.append(el("p", { text: "The files:" }), el("ul", { class: "confirm-names" }, names.map((n) => el("li", {}, userText(n)))));
    if (more > 0) box.append(el("p", { class: "meta", text: `and ${more} more` }));
  }
  box.append(el("p", { class: "strong", text: "This cannot be undone." }));
  return ask(els, "Delete this batch?", "Delete for good", "Keep it");
}

/**
 * Ask a question in the same dialog (its title, text and buttons as given); resolves true only on `ok`.
 * @param {{confirmDelete: HTMLDialogElement, confirmText: HTMLElement, confirmOk: HTMLButtonElement, confirmCancel: HTMLButtonElement}} els
 * @param {string} title @param {string[]} lines @param {string} ok @param {string} cancel
 * @returns {Promise<boolean>}
 */
export function confirmText(els, title, lines, ok, cancel) {
  clear(els.confirmText).append(...lines.map((line) => el("p", { text: line })));
  return ask(els, title, ok, cancel);
}

/** @param {{confirmDelete: HTMLDialogElement, confirmOk: HTMLButtonElement, confirmCancel: HTMLButtonElement}} els
 * @param {string} title @param {string} ok @param {string} cancel @returns {Promise<boolean>} */
function ask(els, title, ok, cancel) {
  const dialog = els.confirmDelete;
  const heading = dialog.querySelector("#confirm-title");
  if (heading) heading.textContent = title;
  els.confirmOk.textContent = ok;
  els.confirmCancel.textContent = cancel;
  // focus goes back where it was once the dialog closes (Esc, Cancel or the action), if that is still there
  const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body
    ? document.activeElement : null;
  return new Promise((resolve) => {
    /** @param {boolean} answer */
    const done = (answer) => {
      dialog.removeEventListener("close", onClose);
      els.confirmOk.onclick = null;
      els.confirmCancel.onclick = null;
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    };
    const onClose = () => done(false);
    dialog.addEventListener("close", onClose);
    els.confirmOk.onclick = () => done(true);
    els.confirmCancel.onclick = () => done(false);
    dialog.showModal();
    els.confirmCancel.focus(); // the safe choice first
  });
}
