// @ts-check
// Selecting rows of the API's CSV (RFC 4180, written by the one CSV writer, spotter.export) without
// writing any CSV here: records are cut out of the text as they are, quotes and line breaks intact.

/** The records of `text`, each the exact text of one record including its line end. */
/** @param {string} text @returns {string[]} */
export function csvRecords(text) {
  /** @type {string[]} */
  const records = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') quoted = !quoted; // a doubled quote toggles twice: still inside
    else if (c === "\n" && !quoted) {
      records.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) records.push(text.slice(start));
  return records;
}

/** The fields of one record (quotes removed, doubled quotes undone). */
/** @param {string} record @returns {string[]} */
export function csvFields(record) {
  const line = record.replace(/\r?\n$/, "");
  /** @type {string[]} */
  const fields = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i += 1; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { fields.push(field); field = ""; } else field += c;
  }
  fields.push(field);
  return fields;
}

/** @param {string} header */
export function objectIdColumn(header) {
  return csvFields(header).indexOf("object_id");
}

/** The header and the records whose object_id is in `ids`, in the order of `ids` (the rows as shown). */
/** @param {string} text @param {string[]} ids */
export function selectRows(text, ids) {
  const wanted = new Set(ids);
  const [header, ...rows] = csvRecords(orderRows(text, ids));
  if (!header) return "";
  const column = objectIdColumn(header);
  return header + rows.filter((row) => wanted.has(csvFields(row)[column])).join("");
}

/** The header and every record, those whose object_id is in `ids` first in that order (the page's order),
 * the others after them as the CSV had them; quoting kept. @param {string} text @param {string[]} ids */
export function orderRows(text, ids) {
  const [header, ...rows] = csvRecords(text);
  if (!header) return "";
  const column = objectIdColumn(header);
  const at = new Map(ids.map((id, i) => [id, i]));
  const rank = (/** @type {string} */ row) => at.get(csvFields(row)[column]) ?? Infinity;
  const ranked = rows.map((row, index) => ({ row, index, rank: rank(row) }));
  ranked.sort((a, b) => (a.rank === b.rank ? a.index - b.index : a.rank - b.rank));
  const body = ranked.map((r) => r.row);
  // every record ends its line, whatever its place now
  return header + body.map((row) => (row.endsWith("\n") ? row : `${row}\r\n`)).join("");
}
