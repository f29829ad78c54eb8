// @ts-check
// Files in: the drop zone (a button that opens the file picker), drag and drop, folders included.

/** @param {FileSystemDirectoryReader} reader @returns {Promise<FileSystemEntry[]>} */
function readEntries(reader) {
  return new Promise((resolve) => { reader.readEntries(resolve, () => resolve([])); });
}

/** @param {FileSystemEntry | null} entry @param {File[]} out */
async function filesFromEntry(entry, out) {
  if (!entry) return;
  if (entry.isFile) {
    const fileEntry = /** @type {FileSystemFileEntry} */ (entry);
    await new Promise((resolve) => { fileEntry.file((file) => { out.push(file); resolve(undefined); }, () => resolve(undefined)); });
  } else if (entry.isDirectory) {
    const reader = /** @type {FileSystemDirectoryEntry} */ (entry).createReader();
    for (;;) {
      const batch = await readEntries(reader);
      if (batch.length === 0) break;
      for (const child of batch) await filesFromEntry(child, out);
    }
  }
}

/** The files dropped: a dropped folder is walked (hidden files left out). @param {DataTransfer} dataTransfer */
async function filesFromDrop(dataTransfer) {
  const items = Array.from(dataTransfer.items || []);
  const entries = items.map((item) => (item.kind === "file" && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
  if (entries.some((entry) => entry && entry.isDirectory)) {
    /** @type {File[]} */
    const out = [];
    for (const entry of entries) await filesFromEntry(entry, out);
    return out.filter((file) => !file.name.startsWith("."));
  }
  return Array.from(dataTransfer.files || []);
}

/**
 * @param {{dropzone: HTMLElement, fileInput: HTMLInputElement}} els
 * @param {(files: Iterable<File> | ArrayLike<File>) => void} addFiles
 */
export function wireDropZone({ dropzone: zone, fileInput: input }, addFiles) {
  zone.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files) addFiles(input.files);
    input.value = "";
  });
  let depth = 0;
  /** @param {DragEvent} event */
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  zone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("dragover");
  });
  zone.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !event.dataTransfer) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove("dragover");
  });
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragover");
    if (event.dataTransfer) addFiles(await filesFromDrop(event.dataTransfer));
  });
  // A file dropped beside the zone should not replace the page.
  for (const type of /** @type {const} */ (["dragover", "drop"])) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event) && !(event.target instanceof Node && zone.contains(event.target))) event.preventDefault();
    });
  }
}
