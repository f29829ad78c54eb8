// GET /batches pages (issue 23): the page follows `next` and adds up a batch cut by a page boundary.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Api, mergeBatch } from "../../frontend/api.js";

test("mergeBatch adds up one batch's summaries from two pages", () => {
  const a = { batch: "b", first_upload: "2026-12-02", last_upload: "2026-12-03", files: 2, images: 1,
    by_status: { ok: 1, refused: 1 }, by_outcome: { red: 1, refused: 1 } };
  const b = { batch: "b", first_upload: "2026-12-01", last_upload: "2026-12-02", files: 3, images: 3,
    by_status: { ok: 3 }, by_outcome: { red: 2, blue: 1 } };
  assert.deepEqual(mergeBatch(a, b), { batch: "b", first_upload: "2026-12-01", last_upload: "2026-12-03",
    files: 5, images: 4, by_status: { ok: 4, refused: 1 }, by_outcome: { red: 3, refused: 1, blue: 1 } });
});

test("Api.batches follows next cursors and merges a batch seen on two pages", async () => {
  const pages = {
    "": { batches: [{ batch: "new", last_upload: "3", first_upload: "3", files: 1 },
      { batch: "old", last_upload: "2", first_upload: "2", files: 1 }], next: "c1" },
    c1: { batches: [{ batch: "old", last_upload: "1", first_upload: "1", files: 4 }], next: null },
  };
  /** @type {string[]} */
  const asked = [];
  const saved = globalThis.fetch;
  globalThis.fetch = /** @type {any} */ (async (/** @type {string} */ url) => {
    const cursor = new URL(url).searchParams.get("cursor") || "";
    asked.push(cursor);
    return new Response(JSON.stringify(pages[/** @type {"" | "c1"} */ (cursor)]), { status: 200 });
  });
  try {
    const batches = await new Api("http://api.test").batches();
    assert.deepEqual(asked, ["", "c1"]);
    assert.deepEqual(batches.map((b) => [b.batch, b.files, b.first_upload]), [["new", 1, "3"], ["old", 5, "1"]]);
  } finally {
    globalThis.fetch = saved;
  }
});
