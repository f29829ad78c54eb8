// @ts-check
// What each file came to, at a glance: the decided label (or `uncertain`, `out of domain`, `nothing found`),
// rejected or refused. Every outcome has a text and a shape (CSS ::before, see style.css), never a colour
// alone; only a card with a positive label gives one label the look of a finding (red ▲), the others of a
// card without a decision (a detector's, three colours...) look neutral. For a card with a positive label,
// the number shown beside a decision is the positive label's score, with the threshold it is decided at;
// and "right" against a known diagnosis has one definition, the scoring module's (verdictOf below).

import { STATUS, FINISHED, UNCERTAIN, OUT_OF_DOMAIN } from "./status.js";

export { UNCERTAIN, OUT_OF_DOMAIN };
/** @type {string[]} */
let labels = []; // the model card's labels, in order: each gets its own colour and shape

/** A two-label card's decision: the positive label, its threshold and the uncertain band.
 * @typedef {{positive: string, threshold: number, band: [number, number] | null}} PositiveRule */
/** @type {PositiveRule | null} */
let cardRule = null;

/** @param {unknown} cardLabels */
export function setLabels(cardLabels) {
  labels = Array.isArray(cardLabels) ? cardLabels.map(String) : [];
}

/** @param {unknown} value @returns {value is number} */
const finite = (value) => typeof value === "number" && Number.isFinite(value);

/** The card's decision as a rule, or null when it has none (a card of three labels or more, a detector).
 * @param {unknown} decision @returns {PositiveRule | null} */
export function ruleFromDecision(decision) {
  if (!decision || typeof decision !== "object") return null;
  const d = /** @type {Record<string, unknown>} */ (decision);
  if (typeof d.positive !== "string" || !d.positive || !finite(d.threshold)) return null;
  const band = Array.isArray(d.uncertain_band) && d.uncertain_band.length === 2 && d.uncertain_band.every(finite)
    ? /** @type {[number, number]} */ ([d.uncertain_band[0], d.uncertain_band[1]]) : null;
  return { positive: d.positive, threshold: d.threshold, band };
}

/** The model card the page shows: its labels (colours, shapes, order) and its decision (the positive score).
 * @param {Record<string, unknown> | null | undefined} card */
export function setCard(card) {
  setLabels(card ? card.labels : []);
  cardRule = ruleFromDecision(card ? card.decision : null);
}

/** The rule a record was decided by: the card's; for a record decided on a positive score while the page
 * has no card (or a card without a decision), read from the record's own decision_rule
 * ("malignant if its score >= 0.074; ...").
 * @param {import("./store.js").ApiRecord | null | undefined} record @returns {PositiveRule | null} */
export function ruleOf(record) {
  if (cardRule) return cardRule;
  const text = record && typeof record.decision_rule === "string" ? record.decision_rule : "";
  const match = /^(.+?) if its score >= (\d+(?:\.\d+)?)/.exec(text);
  return match ? { positive: match[1], threshold: Number(match[2]), band: null } : null;
}

/** The positive label's score of a record (the number its decision is taken on): `positive_score`, or for
 * a record written before that field, the positive label's score in `top`. Null without a positive label.
 * @param {import("./store.js").ApiRecord | null | undefined} record @returns {number | null} */
export function positiveScoreOf(record) {
  if (!record) return null;
  const rule = ruleOf(record);
  if (!rule) return null;
  if (finite(record.positive_score)) return record.positive_score;
  const top = Array.isArray(record.top) ? record.top : [];
  const hit = top.find((item) => item && item.label === rule.positive);
  return hit && finite(hit.score) ? hit.score : null;
}

/** A score for reading: two decimals, three near 0 and 1 (a threshold of 0.074 is not shown as 0.07).
 * @param {number} score @param {number} [digits] */
export function formatScore(score, digits) {
  return score.toFixed(digits ?? (score < 0.1 || score > 0.9 ? 3 : 2));
}

/** A score and a threshold as text: as many decimals as the threshold needs (2, or 3 near 0 and 1: a
 * threshold of 0.074 is not shown as 0.07), the same for every score beside it, and more (up to 4) only
 * where a score would otherwise read as the threshold itself. @param {number} score @param {number} threshold */
export function scoreAndThreshold(score, threshold) {
  const least = threshold < 0.1 || threshold > 0.9 ? 3 : 2;
  const differ = (/** @type {number} */ digits) => formatScore(score, digits) !== formatScore(threshold, digits);
  const digits = score === threshold ? least : [least, least + 1, 4].find(differ) || 4;
  return { score: formatScore(score, digits), threshold: formatScore(threshold, digits) };
}

/** The positive label, its score and the threshold as shown, or null when the record has no positive score.
 * @param {import("./store.js").ApiRecord | null | undefined} record
 * @returns {{label: string, score: string, threshold: string} | null} */
export function positiveScoreParts(record) {
  const rule = ruleOf(record);
  const score = positiveScoreOf(record);
  if (!rule || score === null) return null;
  return { label: rule.positive, ...scoreAndThreshold(score, rule.threshold) };
}

/** "malignant 0.42, threshold 0.30": the positive label's score beside its threshold, or "" when the
 * record has none. @param {import("./store.js").ApiRecord | null | undefined} record */
export function positiveScoreText(record) {
  const parts = positiveScoreParts(record);
  return parts ? `${parts.label} ${parts.score}, threshold ${parts.threshold}` : "";
}

/** The card's sentence for an out-of-domain record (from its decision_rule, after "out_of_domain: "),
 * e.g. "does not look like a dermoscopy photo; not assessed (distance 7.84 from the training photos; at
 * most 3.00 is assessed)"; "" for any other record.
 * @param {import("./store.js").ApiRecord | null | undefined} record */
export function outOfDomainSentence(record) {
  if (!record || record.decision !== OUT_OF_DOMAIN) return "";
  const rule = typeof record.decision_rule === "string" ? record.decision_rule : "";
  const marker = `${OUT_OF_DOMAIN}: `;
  const at = rule.indexOf(marker);
  return at >= 0 ? rule.slice(at + marker.length).trim() : "";
}

/** The sentence without its parenthesised distance, for a table cell: "does not look like ...; not assessed".
 * @param {import("./store.js").ApiRecord | null | undefined} record */
export function outOfDomainShort(record) {
  return outOfDomainSentence(record).replace(/\s*\(distance [^)]*\)\s*$/, "");
}

/** @typedef {{key: string, text: string, kind: string}} Outcome */

/** The key and words of a classified record with no label at all: an object detector that found nothing. */
export const NOTHING_FOUND = "nothing_found";

/** The outcome of an entry: {key, text, kind}. kind: "label-positive" (a card's positive label, ▲),
 * "label-negative" (its other label, ●), "label-plain-N" (a label of a card without a decision: no
 * finding implied), "uncertain", "out-of-domain", "nothing" (a detector found nothing), "rejected"...
 * @param {{status: string, record?: import("./store.js").ApiRecord | null}} entry
 * @returns {Outcome} */
export function outcomeOf(entry) {
  const record = entry.record || {};
  if (entry.status === STATUS.OK) {
    const decided = record.decision || record.label;
    if (decided === UNCERTAIN) return { key: UNCERTAIN, text: UNCERTAIN, kind: UNCERTAIN };
    if (decided === OUT_OF_DOMAIN) return { key: OUT_OF_DOMAIN, text: "out of domain", kind: "out-of-domain" };
    if (decided === undefined || decided === null || decided === "") return { key: NOTHING_FOUND, text: "nothing found", kind: "nothing" };
    const text = String(decided);
    const rule = ruleOf(record);
    if (rule) return { key: text, text, kind: text === rule.positive ? "label-positive" : "label-negative" };
    const index = labels.indexOf(text);
    return { key: text, text, kind: `label-plain-${index >= 0 ? index % 6 : 5}` };
  }
  return { key: entry.status, text: entry.status, kind: entry.status };
}

/** Outcomes after the labels, in this order. */
const ORDER = ["label", UNCERTAIN, "out-of-domain", "nothing", STATUS.REJECTED, STATUS.REFUSED, STATUS.FAILED];

/** Where an entry's decision sorts (ascending), as [rank, text]; null for a file not finished yet. With a
 * positive label: the positive decision, uncertain, the other label(s), out of domain, then rejected,
 * refused and failed files; without one: the card's labels in order, uncertain, out of domain, the rest.
 * @param {{status: string, record?: import("./store.js").ApiRecord | null}} entry
 * @returns {[number, string] | null} */
export function decisionRank(entry) {
  if (!FINISHED.has(entry.status)) return null;
  const outcome = outcomeOf(entry);
  const rule = entry.status === STATUS.OK ? ruleOf(entry.record) : null;
  const known = labels.indexOf(outcome.key);
  let rank;
  if (outcome.kind.startsWith("label-")) {
    if (rule && outcome.key === rule.positive) rank = 0;
    else rank = 2 + (known >= 0 ? known : labels.length);
  } else if (outcome.kind === UNCERTAIN) rank = rule ? 1 : 2 + labels.length + 1;
  else rank = 1000 + ORDER.indexOf(outcome.kind);
  return [rank, outcome.text];
}

/** "3 benign, 2 malignant, 1 uncertain, 1 out of domain, 1 rejected" for finished entries (labels in card order). */
/** @param {Array<{status: string, record?: import("./store.js").ApiRecord | null}>} entries
 * @returns {Array<{n: number, outcome: Outcome, text: string}>} */
export function summaryLine(entries) {
  /** @type {Map<string, {n: number, outcome: Outcome}>} */
  const counts = new Map();
  for (const entry of entries) {
    if (!FINISHED.has(entry.status)) continue;
    const outcome = outcomeOf(entry);
    const current = counts.get(outcome.key) || { n: 0, outcome };
    current.n += 1;
    counts.set(outcome.key, current);
  }
  /** @param {Outcome} o */
  const rank = (o) => (o.kind.startsWith("label-") ? labels.indexOf(o.key) : 100 + ORDER.indexOf(o.kind));
  return Array.from(counts.values())
    .sort((a, b) => rank(a.outcome) - rank(b.outcome))
    .map(({ n, outcome }) => ({ n, outcome, text: `${n} ${outcome.text}` }));
}

// ---- right or wrong against a known diagnosis: the project's one definition -------------------------
// spotter.results.scoring (is_right), which the API's batch score, `spotter score` and the model card's
// full-resolution check use too: a decided image is right when its decision is the truth, wrong when it is
// another label; an uncertain or out-of-domain image (or one without a decision) is neither: not assessed.
// tests/frontend/decisions.test.js checks the sentence against the module's.

/** What "right" means, in the scoring module's words (its BatchScore.rule), said wherever the page counts right. */
export const RIGHT_RULE = "right: the decision is the truth; uncertain and out-of-domain images are neither right nor wrong";

/** @typedef {"right" | "wrong" | "not-assessed"} Verdict */

/** The words for a verdict: "right", "wrong", "not assessed". @param {Verdict} verdict */
export function verdictText(verdict) {
  return verdict === "not-assessed" ? "not assessed" : verdict;
}

/** "right" when a classified record's decision is the true label, "wrong" when it is another label,
 * "not-assessed" when it is uncertain, out of domain or not one of the card's labels; null without a
 * decision to judge (no record, or nothing decided).
 * @param {import("./store.js").ApiRecord | null | undefined} record @param {string} truth
 * @returns {Verdict | null} */
export function verdictOf(record, truth) {
  if (!record) return null;
  const decided = record.decision || record.label;
  if (!decided) return null;
  if (decided === UNCERTAIN || decided === OUT_OF_DOMAIN) return "not-assessed";
  if (labels.length > 0 && !labels.includes(String(decided))) return "not-assessed";
  return decided === truth ? "right" : "wrong";
}

/** The rule as a sentence: "Right: the decision is the truth; ...". */
export function rightRule() {
  return RIGHT_RULE.charAt(0).toUpperCase() + RIGHT_RULE.slice(1);
}

/** The card's rule, for the page's text. */
export function currentRule() {
  return cardRule;
}

/** A known diagnosis: the true label and how to say it. @typedef {{truth: string, text: string}} KnownTruth */
/** @type {Map<string, KnownTruth>} */
let knownTruths = new Map(); // file name -> diagnosis (the sample photos': an ISIC id names one photo)

/** @param {Map<string, KnownTruth>} truths */
export function setKnownTruths(truths) {
  knownTruths = truths;
}

let ownDiagnoses = false; // the researcher gave diagnoses for the batch on screen: only theirs are shown

/** Whether the batch on screen has the researcher's own diagnoses (then no sample photo's is shown).
 * @param {boolean} given @returns {boolean} whether that changed */
export function setOwnDiagnoses(given) {
  const changed = ownDiagnoses !== given;
  ownDiagnoses = given;
  return changed;
}

/** The known diagnosis of an entry's photo: the researcher's own (the record's `truth`, from a diagnoses
 * file given for the batch), else a sample photo's, only for a photo added with the samples button in this
 * batch (`entry.sample`; never by its name alone) and only while the researcher gave no diagnoses of their
 * own; null when neither is known.
 * @param {{name: string, record?: import("./store.js").ApiRecord | null, sample?: boolean}} entry
 * @returns {(KnownTruth & {source: "batch" | "sample"}) | null} */
export function knownTruthOf(entry) {
  const truth = entry.record && typeof entry.record.truth === "string" && entry.record.truth ? entry.record.truth : null;
  if (truth) return { truth, text: truth, source: "batch" };
  if (!entry.sample || ownDiagnoses) return null;
  const sample = knownTruths.get(entry.name);
  return sample ? { ...sample, source: "sample" } : null;
}
