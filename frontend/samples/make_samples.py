"""Copy the page's sample images from ../shared (run: python frontend/samples/make_samples.py).

A few real dermoscopy photos from the ISIC Archive (collection UDA-1, CC0: public domain dedication;
see ATTRIBUTION.txt), at the 256x256 size of the training data, all from the demo model's *test*
split (never seen in training or model selection), with their true diagnosis. They were picked to
show a visitor each kind of result: a melanoma flagged, a nevus cleared, and the model's mistakes
(a nevus flagged as possible melanoma, which its high-sensitivity threshold makes common).
../shared/README.md allows a handful of these CC0 photos to ship as the page's samples, with their
attribution; nothing else from ../shared is copied into the project.

`samples.json` lists each file with its diagnosis (`truth`: the label the page marks the model's decision
right or wrong against, by the model card's rule) and attribution, for the page to show beside it;
`demo_model` notes why each was picked (what the demo model said when it was chosen: the page shows
what the model serving it says now, not this).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHARED = REPO.parent / "shared" / "data" / "isic-uda1"
SPLIT = REPO / "model" / "skin-lesion-split.json"
CHOSEN = {  # ISIC id -> what the demo model (skin-lesion 1.0.0) says for this 256 px photo (card: metrics.full_resolution)
    "ISIC_0000036": "malignant (score 0.97): a melanoma flagged",
    "ISIC_0000098": "benign (score 0.01): a nevus cleared",
    "ISIC_0000039": "uncertain (score 0.08, next to the 0.074 threshold): look twice",
    "ISIC_0000224": "malignant (score 0.25): a false alarm on a nevus, common at this sensitivity",
    "ISIC_0000141": "benign (score 0.02): a melanoma the model misses",
}
ATTRIBUTION = (
    "ISIC Archive, collection UDA-1 (by Anonymous), CC0 1.0: https://creativecommons.org/publicdomain/zero/1.0/"
)
DIAGNOSES = {"nevus": "benign nevus (mole)", "melanoma": "melanoma (skin cancer)"}


def main(shared: Path = SHARED) -> None:
    test = set(json.loads(SPLIT.read_text(encoding="utf-8"))["test"])
    with (shared / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["image_id"]: row for row in csv.DictReader(handle)}
    samples = []
    for image_id, note in CHOSEN.items():
        if image_id not in test:
            sys.exit(f"{image_id} is not in the demo model's test split")
        row = rows[image_id]
        shutil.copyfile(shared / f"{image_id}.jpg", HERE / f"{image_id}.jpg")
        confirmed = (row.get("diagnosis_confirm_type") or "").strip()  # left out where the archive states none
        samples.append(
            {
                "file": f"{image_id}.jpg",
                "isic_id": image_id,
                "truth": row["benign_malignant"],
                "diagnosis": DIAGNOSES.get(row["diagnosis"], row["diagnosis"]),
                **({"diagnosis_confirmed_by": confirmed} if confirmed else {}),
                "demo_model": note,
                "attribution": ATTRIBUTION,
                "text": f"{image_id}: {DIAGNOSES.get(row['diagnosis'], row['diagnosis'])} (ISIC Archive, CC0)",
            }
        )
    (HERE / "samples.json").write_text(json.dumps(samples, indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(shared / "ATTRIBUTION.txt", HERE / "ATTRIBUTION.txt")
    print(f"wrote {len(samples)} samples, samples.json and ATTRIBUTION.txt to {HERE}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED)
