// @ts-check
// The batch's CSV: the whole of it (several replies for a large batch) in the batch's one order (the order
// its files were chosen in, as the table shows it unsorted), or only the rows on screen, as shown.

import { el } from "./dom.js";
import { orderRows, selectRows } from "./csv.js";

/** @typedef {import("./api.js").Api} Api */

/** The whole batch's CSV: a large batch comes in several replies, each naming the next in X-Next-Cursor
 * and repeating the header.
 * @param {Api} api @param {string} href */
export async function fetchBatchCsv(api, href) {
  /** @type {string[]} */
  const parts = [];
  /** @type {string | null} */
  let next = href;
  while (next) {
    const response = await api.fetch(next, { headers: { Accept: "text/csv" } });
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

/** Save `text` as a download named `name`. @param {string} text @param {string} name */
function saveText(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const save = el("a", { href: url, download: name, hidden: true });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * @param {{csvLink: HTMLAnchorElement, csvShown: HTMLButtonElement}} els
 * @param {{api: () => Api, batch: () => string | null, shownIds: () => string[], orderIds: () => string[],
 *   alert: (message: string) => void}} hooks
 */
export function wireDownloads({ csvLink, csvShown }, { api, batch, shownIds, orderIds, alert }) {
  // Fetch the CSV and save it under a batch-named file; a plain link if that is not possible.
  csvLink.addEventListener("click", async (event) => {
    if (!csvLink.href || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    try {
      const text = await fetchBatchCsv(api(), csvLink.href);
      saveText(orderRows(text, orderIds()), csvLink.getAttribute("download") || "predictions.csv");
    } catch (err) {
      if (api().auth) alert(`Could not download the CSV: ${errorMessage(err)}`); // a plain link carries no token
      else window.location.assign(csvLink.href);
    }
  });
  // The rows on screen (filter and status as set): the batch's CSV from the API, cut down to their records.
  csvShown.addEventListener("click", async () => {
    const current = batch();
    if (!current) return;
    const ids = shownIds();
    try {
      const text = await fetchBatchCsv(api(), api().csvUrl({ batch: current }));
      saveText(selectRows(text, ids), `spotter-${current}-shown.csv`);
    } catch (err) {
      alert(`Could not download the CSV: ${errorMessage(err)}`);
    }
  });
}

/** The message of whatever was thrown. @param {unknown} err */
export function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}
