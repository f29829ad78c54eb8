// @ts-check
// Small DOM helpers. Text from the API only ever goes in through text nodes / textContent.

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Child | Child[]} Children */

/**
 * el("p", {class: "x", "aria-live": "polite"}, "text", childNode, ...)
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = String(value);
    else if (key === "text") node.textContent = String(value);
    else if (key === "hidden") node.hidden = Boolean(value);
    else if (key === "style") node.style.cssText = String(value); // CSSOM: allowed by a CSP without 'unsafe-inline'
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** @template {Node & ParentNode} N @param {N} node @param {Children[]} children @returns {N} */
export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** @template {Node} N @param {N} node @returns {N} */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/**
 * A user-provided string (a file name, label, batch name, source) as its own bidi isolate: a <bdi>
 * (unicode-bidi: isolate, direction from its own first strong character), so a U+202E in a name cannot
 * reverse the text around it, and a long unbroken word may break (CSS .user-text).
 * @param {unknown} text @param {string} [extraClass]
 */
export function userText(text, extraClass = "") {
  return el("bdi", { class: `user-text${extraClass ? ` ${extraClass}` : ""}`, dir: "auto" }, String(text ?? ""));
}

/** Where a file name may break, as its parts: after "_", "-", "/" and before the extension's dot, e.g.
 * "ISIC_0000032.jpg" -> ["ISIC_", "0000032", ".jpg"] (never inside ".jpg"). Pure, for the tests.
 * @param {string} name @returns {string[]} */
export function nameParts(name) {
  const text = String(name ?? "");
  const dot = text.lastIndexOf(".");
  const [stem, extension] = dot > 0 && text.length - dot <= 8 ? [text.slice(0, dot), text.slice(dot)] : [text, ""];
  const parts = stem.split(/(?<=[_\-/])(?=[^_\-/])/).filter(Boolean);
  if (extension) parts.push(extension);
  return parts.length ? parts : [text];
}

/** A file name as user text (its own bidi isolate) with a <wbr> at each of its sensible breaks (nameParts):
 * it wraps there, and inside a part only when the part alone is wider than its column. @param {unknown} name */
export function breakableName(name) {
  const parts = nameParts(String(name ?? ""));
  const node = userText("");
  node.textContent = "";
  parts.forEach((part, i) => {
    if (i > 0) node.append(document.createElement("wbr"));
    node.append(part);
  });
  return node;
}

/** A string to embed in composed text (a title, an aria-label, a confirm line): wrapped in FSI ... PDI,
 * the plain-text isolate. @param {unknown} text */
export function isolated(text) {
  return `\u2068${String(text ?? "")}\u2069`;
}

/**
 * `message` (e.g. a refusal the API worded, "NAME is HEIC, ...") as nodes, every occurrence of each of
 * `parts` (the user-provided strings it may quote) isolated by userText.
 * @param {string} message @param {unknown[]} parts @returns {(Node | string)[]}
 */
export function withUserText(message, parts) {
  /** @type {string[]} */
  const needles = [...new Set(parts.filter(/** @returns {p is string} */ (p) => typeof p === "string" && p.length > 0))];
  needles.sort((a, b) => b.length - a.length); // the longest first, where one name holds another
  /** @type {(Node | string)[]} */
  const out = [];
  let rest = String(message);
  while (rest) {
    let at = -1;
    let found = "";
    for (const needle of needles) {
      const i = rest.indexOf(needle);
      if (i >= 0 && (at < 0 || i < at)) { at = i; found = needle; }
    }
    if (at < 0) { out.push(rest); break; }
    if (at > 0) out.push(rest.slice(0, at));
    out.push(userText(found));
    rest = rest.slice(at + found.length);
  }
  return out;
}

/** A URL that is safe to use as an image source: http(s) or a blob: URL we made. */
/** @param {unknown} value @returns {string | null} */
export function safeImageUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, window.location.href);
    return ["http:", "https:", "blob:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** Bytes in binary units, labelled as such: 1 KiB = 1,024 bytes, 1 MiB = 1,048,576 (the API's limits are
 * whole MiB, e.g. 25 MiB, which would read 26.2 MB in decimal units). */
/** @param {number | undefined} bytes */
export function formatBytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** A score in [0, 1] as a percentage: one decimal near 0 and 1, none between. @param {unknown} score */
export function formatPercent(score) {
  if (typeof score !== "number" || !Number.isFinite(score)) return "";
  return `${(score * 100).toFixed(score >= 0.995 || score < 0.1 ? 1 : 0)}%`;
}

/** @param {string | null | undefined} iso */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Date and time in the reader's locale, e.g. "29 Nov 2026, 05:20:52" (kept on one line by CSS). */
/** @param {string | null | undefined} iso */
export function formatDateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
