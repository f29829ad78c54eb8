// What each file came to, at a glance: the decided label (or `uncertain`), rejected or refused.
// Every outcome has a text and a shape (CSS ::before, see style.css), never a colour alone.

export const UNCERTAIN = "uncertain";
let labels = []; // the model card's labels, in order: each gets its own colour and shape

export function setLabels(cardLabels) {
  labels = Array.isArray(cardLabels) ? cardLabels.map(String) : [];
}

/** The outcome of an entry: {key, text, kind} with kind "label-N", "uncertain", "rejected", "refused"... */
export function outcomeOf(entry) {
  const record = entry.record || {};
  if (entry.status === "ok") {
    const decided = record.decision || record.label;
    if (decided === UNCERTAIN) return { key: UNCERTAIN, text: UNCERTAIN, kind: "uncertain" };
    const index = labels.indexOf(String(decided));
    return { key: String(decided), text: String(decided), kind: `label-${index >= 0 ? index % 6 : 5}` };
  }
  return { key: entry.status, text: entry.status, kind: entry.status };
}

const ORDER = ["label", "uncertain", "rejected", "refused", "failed"];

/** "3 benign, 2 malignant, 1 uncertain, 1 rejected" for finished entries (labels in card order). */
export function summaryLine(entries) {
  const counts = new Map();
  for (const entry of entries) {
    if (!["ok", "rejected", "refused", "failed"].includes(entry.status)) continue;
    const outcome = outcomeOf(entry);
    const current = counts.get(outcome.key) || { n: 0, outcome };
    current.n += 1;
    counts.set(outcome.key, current);
  }
  const rank = (o) => (o.kind.startsWith("label-") ? labels.indexOf(o.key) : 100 + ORDER.indexOf(o.kind));
  return Array.from(counts.values())
    .sort((a, b) => rank(a.outcome) - rank(b.outcome))
    .map(({ n, outcome }) => ({ n, outcome, text: `${n} ${outcome.text}` }));
}
