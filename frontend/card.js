// The model card from GET /model: name, version, labels, metrics, intended use, disclaimer.

import { el, clear, formatBytes } from "./dom.js";

const SHOWN_ELSEWHERE = new Set(["name", "version", "labels", "intended_use", "disclaimer", "metrics", "input", "limitations", "decision"]);

const NAMES = {
  roc_auc: "ROC AUC", n: "Images (n)", size_bytes: "Size", latency_ms: "Latency",
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

function scalarText(value, key = "") {
  if (value === null) return "—";
  if (typeof value === "number" && /(^|_)bytes$/.test(key)) return formatBytes(value);
  if (typeof value === "number" && /(^|_)ms$/.test(key)) return `${formatNumber(value)} ms`;
  if (typeof value === "number") return formatNumber(value);
  return String(value);
}

let cardLabels = [];

/** A confusion matrix with its rows (true label) and columns (predicted label) named. */
function confusionMatrix(matrix, key) {
  const n = matrix.length;
  const names = cardLabels.length === n ? cardLabels : matrix.map((_, i) => `class ${i + 1}`);
  return el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": humanize(key) }, el("table", { class: "matrix" },
    el("caption", { text: "Rows: true label. Columns: predicted label." }),
    el("thead", {}, el("tr", {}, el("td", {}), names.map((name) => el("th", { scope: "col", text: `predicted ${name}` })))),
    el("tbody", {}, matrix.map((row, i) => el("tr", {}, el("th", { scope: "row", text: `true ${names[i]}` }),
      row.map((cell) => el("td", { text: scalarText(cell) })))))));
}

/** Any JSON value, as text, a list, a small matrix table or a definition list (depth-limited). */
export function renderValue(value, depth = 0, key = "") {
  if (isScalar(value)) return el("span", { text: scalarText(value, key) });
  if (Array.isArray(value)) {
    // sentences (limitations, notes) are a list; short values (a range, a size) stay on one line
    if (value.every(isScalar) && value.some((v) => typeof v === "string" && v.length > 40)) {
      return el("ul", { class: "sentences" }, value.map((v) => el("li", { text: scalarText(v) })));
    }
    if (value.every(isScalar)) return el("span", { text: value.map((v) => scalarText(v)).join(", ") });
    if (/confusion_matrix$/.test(key) && value.every((row) => Array.isArray(row) && row.length === value.length && row.every((c) => typeof c === "number"))) {
      return confusionMatrix(value, key);
    }
    if (value.every((row) => Array.isArray(row) && row.every(isScalar))) {
      return el("table", { class: "matrix" },
        el("tbody", {}, value.map((row) => el("tr", {}, row.map((cell) => el("td", { text: scalarText(cell) }))))));
    }
    return el("ul", {}, value.map((item) => el("li", {}, renderValue(item, depth + 1))));
  }
  if (depth > 3) return el("span", { text: JSON.stringify(value) });
  return el("dl", { class: "kv" },
    Object.entries(value).flatMap(([name, item]) => [el("dt", { text: humanize(name) }), el("dd", {}, renderValue(item, depth + 1, name))]));
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
    const wrap = el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "Metrics (the table scrolls sideways on narrow screens)" },
      el("table", { class: "metrics" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Metric" }),
          columns.map(([name]) => el("th", { scope: "col", text: name })))),
        el("tbody", {}, rows.map((key) => el("tr", {}, el("th", { scope: "row", text: humanize(key) }),
          columns.map(([, values]) => el("td", { text: key in values ? scalarText(values[key], key) : "" })))))));
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
  cardLabels = Array.isArray(card.labels) ? card.labels.map(String) : [];
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
  if (card.decision && typeof card.decision === "object" && typeof card.decision.threshold === "number") {
    const d = card.decision;
    const band = Array.isArray(d.uncertain_band) ? ` Scores from ${formatNumber(d.uncertain_band[0])} to ${formatNumber(d.uncertain_band[1])} are labelled uncertain.` : "";
    container.append(el("h4", { text: "How it decides" }),
      el("p", { text: `${d.positive} when its score is at least ${formatNumber(d.threshold)}.${band}${d.chosen_on ? ` Threshold chosen on the ${d.chosen_on}.` : ""}` }));
  }
  if (Array.isArray(card.limitations) && card.limitations.length > 0) {
    container.append(el("h4", { text: "Limitations" }), el("ul", { class: "sentences" }, card.limitations.map((item) => el("li", {}, renderValue(item, 1)))));
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
