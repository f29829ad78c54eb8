// The upload queue's cancel (a batch deleted while its files upload): nothing queued is signed or
// sent afterwards, a signing in flight is discarded, and uploads under way see their signal aborted.
import { test } from "node:test";
import assert from "node:assert/strict";

import { UploadQueue } from "../../frontend/upload.js";

test("cancel drops the queue, discards the signing in flight and aborts uploads under way", async () => {
  /** @type {Array<() => void>} */
  const signings = [];
  /** @type {AbortSignal[]} */
  const uploadSignals = [];
  const uploaded = [];
  const queue = new UploadQueue(
    {
      presign: (entries) => new Promise((resolve) => {
        signings.push(() => {
          for (const entry of entries) entry.upload = { url: "u" };
          resolve();
        });
      }),
      upload: (entry, signal) => {
        uploaded.push(entry.name);
        uploadSignals.push(signal);
        return new Promise((resolve) => {
          signal.addEventListener("abort", () => resolve());
        });
      },
      changed: () => {},
    },
    { concurrency: 2 },
  );
  const entries = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, upload: null, status: "queued" }));
  const tick = () => new Promise((resolve) => {
    setTimeout(resolve, 0);
  });
  queue.add(entries);
  await tick();
  signings.shift()(); // the first chunk is signed: two uploads start
  await tick();
  assert.deepEqual(uploaded, ["f0", "f1"]);
  assert.equal(signings.length, 1); // the next chunk is being signed
  const dropped = queue.cancel();
  assert.deepEqual(dropped.map((e) => e.name), ["f4", "f5"]);
  assert.ok(uploadSignals.every((s) => s.aborted));
  signings.shift()(); // the signing in flight answers after the cancel
  await tick();
  assert.deepEqual(uploaded, ["f0", "f1"]); // nothing signed before the cancel is sent after it
  assert.equal(queue.busy, false);
});
