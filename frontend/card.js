// The model card from GET /model: name, version, labels, metrics, intended use, disclaimer.

import { el, clear } from "./dom.js";

const SHOWN_ELSEWHERE = new Set(["name", "version", "labels", "intended_use", "disclaimer", "metrics", "input"]);

const NAMES = {
  roc_auc: "ROC AUC", n: "Images (n)", size_bytes: "Size (bytes)", latency_ms: "Latency (ms)",
  int8_float_top1_agreement: "int8 / float32 top-1 agreement", per_class: "Per class",
};

function humanize(key) {
  if (NAMES[key]) return NAMES[key];
  const text = String(key).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function formatNumber(value) {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

function isScalar(value) {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function scalarText(value) {
  if (value === null) return "—";
  if (typeof value === "number") return formatNumber(value);
  return String(value);
}

/** Any JSON value, as text, a list, a small matrix table or a definition list (depth-limited). */
export function renderValue(value, depth = 0) {
  if (isScalar(value)) return el("span", { text: scalarText(value) });
  if (Array.isArray(value)) {
    if (value.every(isScalar)) return el("span", { text: value.map(scalarText).join(", ") });
    if (value.every((row) => Array.isArray(row) && row.every(isScalar))) {
      return el("table", { class: "matrix" },
        el("tbody", {}, value.map((row) => el("tr", {}, row.map((cell) => el("td", { text: scalarText(cell) }))))));
    }
    return el("ul", {}, value.map((item) => el("li", {}, renderValue(item, depth + 1))));
  }
  if (depth > 3) return el("span", { text: JSON.stringify(value) });
  return el("dl", { class: "kv" },
    Object.entries(value).flatMap(([key, item]) => [el("dt", { text: humanize(key) }), el("dd", {}, renderValue(item, depth + 1))]));
}

/** Metrics: objects of scalars side by side (e.g. float32 vs int8), everything else below. */
function renderMetrics(metrics) {
  if (!metrics || typeof metrics !== "object" || Array.isArray(metrics)) return renderValue(metrics);
  const columns = Object.entries(metrics).filter(
    ([, v]) => v && typeof v === "object" && !Array.isArray(v) && Object.values(v).filter((x) => typeof x === "number").length >= 2);
  const rest = Object.entries(metrics).filter(([k]) => !columns.some(([c]) => c === k));
  const parts = [];
  if (columns.length > 0) {
    const rows = [];
    for (const [, values] of columns) {
      for (const [key, v] of Object.entries(values)) if (isScalar(v) && !rows.includes(key)) rows.push(key);
    }
    const wrap = el("div", { class: "table-scroll" },
      el("table", { class: "metrics" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Metric" }),
          columns.map(([name]) => el("th", { scope: "col", text: name })))),
        el("tbody", {}, rows.map((key) => el("tr", {}, el("th", { scope: "row", text: humanize(key) }),
          columns.map(([, values]) => el("td", { text: key in values ? scalarText(values[key]) : "" })))))));
    parts.push(wrap);
    const extras = columns.flatMap(([name, values]) =>
      Object.entries(values).filter(([, v]) => !isScalar(v)).map(([key, v]) => [`${name} ${key}`, v]));
    rest.push(...extras);
  }
  if (rest.length > 0) parts.push(renderValue(Object.fromEntries(rest)));
  return parts;
}

export function renderCard(card, container) {
  clear(container);
  const title = el("h3", {}, card.name ? String(card.name) : "Unnamed model",
    card.version ? el("span", { class: "version", text: ` version ${card.version}` }) : null);
  container.append(title);
  if (card.intended_use) {
    container.append(el("h4", { text: "Intended use" }), el("p", {}, renderValue(card.intended_use)));
  }
  if (Array.isArray(card.labels) && card.labels.length > 0) {
    container.append(el("h4", { text: `Labels (${card.labels.length})` }),
      el("ul", { class: "chips", "aria-label": "Labels the model can predict" },
        card.labels.map((label) => el("li", { text: String(label) }))));
  }
  if (card.input && typeof card.input === "object") {
    const size = Array.isArray(card.input.size) ? `${card.input.size[0]} × ${card.input.size[1]} pixels` : "";
    const resize = card.input.resize ? `, ${card.input.resize === "center_crop" ? "centre-cropped" : "squashed"} to fit` : "";
    if (size) container.append(el("p", { class: "muted", text: `Input: ${size}${resize}.` }));
  }
  if (card.metrics) {
    container.append(el("h4", { text: "Metrics" }), el("div", { class: "metrics-wrap" }, renderMetrics(card.metrics)));
  }
  const others = Object.entries(card).filter(([key, value]) => !SHOWN_ELSEWHERE.has(key) && value !== null && value !== "");
  if (others.length > 0) {
    container.append(el("details", { class: "more" }, el("summary", { text: "More about this model" }),
      renderValue(Object.fromEntries(others))));
  }
}
