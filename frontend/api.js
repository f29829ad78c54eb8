// @ts-check
// The Spotter API: where it is (config.json) and the calls the page makes.

/** @typedef {import("./store.js").ApiRecord} ApiRecord */
/** @typedef {{url?: string, fields?: Record<string, string>, objectId?: string, key?: string, name?: string, error?: string}} UploadAnswer */
/** @typedef {{batch?: string, maxBytes?: number, uploads?: Array<UploadAnswer | null>}} PresignReply */
/** @typedef {{batch: string, first_upload?: string, last_upload?: string, files?: number, images?: number, by_status?: Record<string, number>, by_outcome?: Record<string, number>}} BatchSummary */
/** @typedef {{files?: number, images?: number, records?: number, names?: string[]}} DeletionPreview */
/** @typedef {{apiUrl: string, auth: Record<string, unknown> | null}} Config */
/**
 * A batch scored against the researcher's diagnoses (PUT /batches/{b}/truth, GET /batches/{b}/score;
 * spotter.results.scoring.BatchScore.as_dict).
 * @typedef {{batch?: string, labels?: string[], positive?: string | null, matched?: number, right?: number, wrong?: number,
 *   not_assessed?: Record<string, number>, confusion?: Record<string, Record<string, number>>,
 *   sensitivity?: number | null, sensitivity_ci95?: [number, number] | null, specificity?: number | null,
 *   specificity_ci95?: [number, number] | null, assessed_positives?: number, assessed_negatives?: number,
 *   unmatched_rows?: string[], unknown_truths?: Array<{name: string, truth: string}>, without_truth?: string[],
 *   ambiguous_rows?: string[], conflicting_rows?: string[], name_column?: string | null, truth_column?: string | null,
 *   kept?: number, per_image?: Record<string, boolean | null>, rule?: string}} BatchScore
 */
/** @typedef {{idToken: () => Promise<string | null>, drop: () => void}} TokenSource */

/** @param {Record<string, number> | undefined} a @param {Record<string, number> | undefined} b */
function addCounts(a, b) {
  /** @type {Record<string, number>} */
  const sum = { ...(a || {}) };
  for (const [k, v] of Object.entries(b || {})) sum[k] = (sum[k] || 0) + v;
  return sum;
}

/** One batch's summaries from two pages of GET /batches, added up. */
/** @param {BatchSummary} a @param {BatchSummary} b @returns {BatchSummary} */
export function mergeBatch(a, b) {
  const [first, last] = [[a.first_upload, b.first_upload], [a.last_upload, b.last_upload]].map((pair) =>
    pair.filter(Boolean).sort(),
  );
  return {
    ...a,
    first_upload: first[0],
    last_upload: last[last.length - 1],
    files: (a.files || 0) + (b.files || 0),
    images: (a.images || 0) + (b.images || 0),
    by_status: addCounts(a.by_status, b.by_status),
    by_outcome: addCounts(a.by_outcome, b.by_outcome),
  };
}

export class ApiError extends Error {
  /** @param {string} message @param {number} [status] HTTP status, 0 when there was no answer */
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** config.json: {apiUrl, auth}; `auth` (researcher sign-in settings) is null when the stack has none.
 * @param {string} [configUrl] @returns {Promise<Config>} */
export async function loadConfig(configUrl = "config.json") {
  let response;
  try {
    response = await fetch(configUrl, { cache: "no-store" });
  } catch (err) {
    throw new ApiError(`Cannot read ${configUrl}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!response.ok) throw new ApiError(`Cannot read ${configUrl}: HTTP ${response.status}`, response.status);
  let config;
  try {
    config = await response.json();
  } catch {
    throw new ApiError(`${configUrl} is not valid JSON`);
  }
  const raw = typeof config.apiUrl === "string" ? config.apiUrl.trim() : "";
  const base = raw || window.location.origin;
  const url = new URL(base, window.location.href);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ApiError(`apiUrl must be http(s), got ${base}`);
  const auth = config.auth && typeof config.auth === "object" ? config.auth : null;
  return { apiUrl: url.href.replace(/\/+$/, ""), auth };
}

/** @param {Response} response */
async function messageOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.message === "string" && body.message) return body.message;
  } catch {
    /* not JSON */
  }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}

export class Api {
  /** `auth` (auth.js), when sign-in is on, supplies the ID token sent as a Bearer token. */
  /** @param {string} baseUrl @param {TokenSource | null} [auth] */
  constructor(baseUrl, auth = null) {
    this.baseUrl = baseUrl;
    this.auth = auth;
  }

  /** fetch() with "Authorization: Bearer <ID token>" when sign-in is on; a 401 signs the page out. */
  /** @param {string} url @param {RequestInit & {headers?: Record<string, string>}} [init] */
  async fetch(url, init = {}) {
    /** @type {Record<string, string>} */
    const headers = { ...(init.headers || {}) };
    if (this.auth) {
      const token = await this.auth.idToken();
      if (!token) throw new ApiError("Sign in to use Spotter", 401);
      headers.Authorization = `Bearer ${token}`;
    }
    const response = await fetch(url, { ...init, headers });
    if (response.status === 401 && this.auth) this.auth.drop();
    return response;
  }

  /** @param {string} path @param {Record<string, unknown>} [params] */
  url(path, params = {}) {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
    }
    return url.href;
  }

  /**
   * @param {string} path
   * @param {{method?: string, params?: Record<string, unknown>, body?: unknown}} [options]
   * @returns {Promise<any>} the reply's JSON, as the API documents it (each caller names its shape)
   */
  async request(path, { method = "GET", params, body } = {}) {
    /** @type {RequestInit & {headers: Record<string, string>}} */
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await this.fetch(this.url(path, params), init);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(`Cannot reach the API at ${this.baseUrl} (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!response.ok) throw new ApiError(await messageOf(response), response.status);
    try {
      return await response.json();
    } catch {
      throw new ApiError(`The API answered ${path} with something other than JSON`, response.status);
    }
  }

  /** Presigned POSTs for `files` ({name, type, size}); per-file refusals come back as {name, error}. */
  /** @param {Array<{name: string, type: string, size: number}>} files @param {string | null} batch
   * @returns {Promise<PresignReply>} */
  presign(files, batch) {
    /** @type {{files: typeof files, batch?: string}} */
    const body = { files };
    if (batch) body.batch = batch;
    return this.request("/uploads", { method: "POST", body });
  }

  /** Every record of a batch, following `next` cursors (at most `maxPages` pages). */
  /** @param {Record<string, unknown>} params @param {number} [maxPages] @returns {Promise<ApiRecord[]>} */
  async predictions(params, maxPages = 50) {
    /** @type {ApiRecord[]} */
    const items = [];
    /** @type {string | undefined} */
    let cursor;
    for (let page = 0; page < maxPages; page += 1) {
      const data = await this.request("/predictions", { params: { limit: 100, ...params, cursor } });
      if (Array.isArray(data.items)) items.push(...data.items);
      if (!data.next) break;
      cursor = data.next;
    }
    return items;
  }

  /** The model card. @returns {Promise<Record<string, any>>} */
  model() {
    return this.request("/model");
  }

  /** The signed-in user's batches (GET /batches), newest first, following `next` cursors (at most
   * `maxPages` pages). A batch cut by a page boundary comes on both pages: its counts are added up. */
  /** @param {number} [maxPages] @returns {Promise<BatchSummary[]>} */
  async batches(maxPages = 20) {
    /** @type {Map<string, BatchSummary>} */
    const byName = new Map();
    /** @type {string | undefined} */
    let cursor;
    for (let page = 0; page < maxPages; page += 1) {
      const data = await this.request("/batches", { params: { cursor } });
      for (const part of Array.isArray(data.batches) ? data.batches : []) {
        const seen = byName.get(part.batch);
        byName.set(part.batch, seen ? mergeBatch(seen, part) : part);
      }
      if (!data.next) break;
      cursor = data.next;
    }
    return [...byName.values()].sort((a, b) => String(b.last_upload).localeCompare(String(a.last_upload)));
  }

  /** What deleting a batch would remove: files, stored images, records, names. */
  /** @param {string} batch @returns {Promise<DeletionPreview>} */
  batch(batch) {
    return this.request(`/batches/${encodeURIComponent(batch)}`);
  }

  /** @param {string} batch */
  deleteBatch(batch) {
    return this.request(`/batches/${encodeURIComponent(batch)}`, { method: "DELETE" });
  }

  /** The researcher's diagnoses for the batch (a CSV file's text): stored with its records, and the batch
   * scored against them. @param {string} batch @param {string} csv @returns {Promise<BatchScore>} */
  putTruth(batch, csv) {
    return this.request(`/batches/${encodeURIComponent(batch)}/truth`, { method: "PUT", body: { csv } });
  }

  /** The batch scored against the diagnoses stored with it. @param {string} batch @returns {Promise<BatchScore>} */
  score(batch) {
    return this.request(`/batches/${encodeURIComponent(batch)}/score`);
  }

  /** @param {Record<string, unknown>} params */
  csvUrl(params) {
    return this.url("/predictions.csv", params);
  }
}
