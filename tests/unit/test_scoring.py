"""Scoring a batch against the researcher's diagnoses (spotter.results.scoring): the file read loosely,
rows matched by name, key or id, and the confusion table, right/wrong and measures computed by hand."""

import pytest

from spotter.records import PredictionRecord
from spotter.results.scoring import TruthError, is_right, parse_truth_table, score_batch, wilson

LABELS = ("benign", "malignant")


def decided(n, name, decision, status="ok"):
    r = PredictionRecord(
        object_id=f"{n:032d}", model="m@1", bucket="bk", key=f"uploads/b1/{n}-{name}", status=status, source="web",
        file_name=name, uploaded_at="2026-11-29T00:00:00.000Z", classified_at="2026-11-29T00:00:01.000Z",
        model_name="m", model_version="1", batch="b1",
    )  # fmt: skip
    r.decision, r.label = decision, "benign"
    r.decision_rule = "malignant if its score >= 0.300"
    return r


def test_headers_are_matched_loosely_and_delimiters_sniffed():
    for text in (
        "File Name,Diagnosis\na.jpg,benign\n",
        "\ufeffimage_id;benign_malignant\na;benign\n",
        "key\ttruth\nuploads/b/x-a.jpg\tbenign\n",
        "ISIC_ID,Ground Truth\na,benign\n",
    ):
        table = parse_truth_table(text)
        assert len(table.rows) == 1 and table.rows[0][1] == "benign"
    with pytest.raises(TruthError, match=r"needs a name column .* and a truth column"):
        parse_truth_table("a,b\n1,2\n")
    with pytest.raises(TruthError, match="empty"):
        parse_truth_table("")


def test_a_diagnoses_file_with_old_mac_line_ends_reads_and_a_broken_one_is_a_truth_error():
    """The eighth trial: CR-only line ends, a 200,000-character field and an unterminated quote were 500s."""
    assert parse_truth_table("file_name,truth\risic.jpg,benign\r").rows == (("isic.jpg", "benign"),)
    for text in ("file_name,truth\n" + "a" * 200_000 + ",benign\n", "file_name,truth\n" + '"' * 500_000):
        with pytest.raises(TruthError, match=r"not CSV that can be read|over 131,072 characters"):
            parse_truth_table(text)


def test_right_means_the_decision_is_the_truth_and_uncertain_is_neither():
    assert is_right("malignant", "malignant", LABELS) is True
    assert is_right("benign", "malignant", LABELS) is False
    assert is_right("uncertain", "malignant", LABELS) is None
    assert is_right("out_of_domain", "benign", LABELS) is None


def test_a_batch_scored_by_hand():
    records = [
        decided(1, "m1.jpg", "malignant"),  # TP
        decided(2, "m2.jpg", "malignant"),  # TP
        decided(3, "m3.jpg", "benign"),  # FN
        decided(4, "m4.jpg", "uncertain"),  # truth malignant, not assessed
        decided(5, "b1.jpg", "benign"),  # TN
        decided(6, "b2.jpg", "malignant"),  # FP
        decided(7, "b3.jpg", "out_of_domain"),  # truth benign, not assessed
        decided(8, "nobody.jpg", "benign"),  # no truth in the file
        decided(9, "refused.heic", None, status="refused"),
    ]
    text = "name,diagnosis\nm1.jpg,Malignant\nm2,malignant\nm3.jpg,malignant\nm4.jpg,malignant\n"
    text += "b1.jpg,benign\nb2.jpg,BENIGN\nb3.jpg,benign\nghost.jpg,benign\nodd.jpg,keloid\nm1.jpg,malignant\n"
    score = score_batch(parse_truth_table(text), records, LABELS, "malignant")
    assert score.confusion == {
        "malignant": {"malignant": 2, "benign": 1, "uncertain": 1},
        "benign": {"benign": 1, "malignant": 1, "out_of_domain": 1},
    }
    assert (score.right, score.wrong, score.not_assessed) == (3, 2, {"uncertain": 1, "out_of_domain": 1})
    measures = score.measures()
    assert measures["sensitivity"] == round(2 / 3, 4) and measures["specificity"] == 0.5
    assert measures["sensitivity_ci95"] == wilson(2, 3)
    assert score.unmatched_rows == ["ghost.jpg", "odd.jpg"]
    assert score.without_truth == ["nobody.jpg"]
    assert {r.file_name: score.per_image.get(r.object_id) for r in records[:3]} == {
        "m1.jpg": True,
        "m2.jpg": True,
        "m3.jpg": False,
    }


def test_wilson_interval():
    interval = wilson(8, 10)
    assert interval is not None
    low, high = interval
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    assert wilson(0, 0) is None


def test_stats_by_truth_and_decision_give_the_same_confusion_table():
    from spotter.results.stats import summarise

    records = [decided(1, "a.jpg", "malignant"), decided(2, "b.jpg", "benign"), decided(3, "c.jpg", "malignant")]
    score = score_batch(
        parse_truth_table("name,truth\na.jpg,malignant\nb.jpg,malignant\nc.jpg,benign\n"), records, LABELS, "malignant"
    )
    for r in records:
        r.truth = score.truths[r.object_id]
    rows = summarise(records, ("truth", "decision"), "malignant")
    table = {(row["truth"], row["decision"]): row["count"] for row in rows}
    assert table == {(t, d): n for t, by in score.confusion.items() for d, n in by.items()}


def test_a_row_that_fits_several_images_or_gives_one_two_truths_is_not_applied():
    """The ninth trial: `a` diagnosed a.jpg, a second a.jpg and a.png alike; a key of another folder
    matched this batch's file of that name; two rows for one image were applied silently."""
    records = [decided(1, "a.jpg", "malignant"), decided(2, "a.jpg", "benign"), decided(3, "a.png", "benign")]
    records += [decided(4, "b.jpg", "benign"), decided(5, "c.jpg", "benign")]
    text = (
        "name,truth\na,benign\na.jpg,benign\nb.jpg,benign\nb.jpg,malignant\ndrones/evil/x/c.jpg,benign\nc.jpg,keloid\n"
    )
    score = score_batch(parse_truth_table(text), records, LABELS, "malignant")
    assert score.ambiguous_rows == ["a", "a.jpg"] and score.conflicting_rows == ["b.jpg"]
    assert score.unmatched_rows == ["drones/evil/x/c.jpg"] and score.unknown_truths == [("c.jpg", "keloid")]
    assert score.truths == {} and score.kept == {records[3].object_id, records[4].object_id}


def test_stats_by_batch_never_count_a_drone_folder_in_a_web_batch_of_its_name():
    """The ninth trial: `drones/evil/<web batch>/x.jpg` was counted in the web batch's row of stats by batch."""
    from spotter.results.stats import summarise

    web = decided(1, "a.jpg", "benign")
    drone = decided(2, "x.jpg", "benign")
    drone.key, drone.source = "drones/evil/b1/x.jpg", "evil"
    rows = summarise([web, drone], ("batch",), "top")
    assert sorted((row["batch"], row["count"]) for row in rows) == [("b1", 1), ("evil/b1", 1)]


def test_isic_metadata_as_is_is_read_by_the_column_that_holds_the_labels():
    """The trial's labels.csv (image_id, benign_malignant, diagnosis, ...) was refused: `diagnosis`
    (nevus, melanoma) was taken over `benign_malignant`, which holds the model's labels."""
    records = [decided(1, "ISIC_0000001.jpg", "benign"), decided(2, "ISIC_0000002.jpg", "malignant")]
    text = "image_id,benign_malignant,diagnosis,age_approx\nISIC_0000001,benign,nevus,40\nISIC_0000002,malignant,melanoma,55\n"
    score = score_batch(parse_truth_table(text), records, LABELS, "malignant")
    assert score.truth_column == "benign_malignant" and score.as_dict()["truth_column"] == "benign_malignant"
    assert (score.right, score.wrong, score.unknown_truths) == (2, 0, [])
    # a file whose first truth column holds the labels keeps it
    text = "file_name,diagnosis,benign_malignant\nISIC_0000001.jpg,benign,malignant\n"
    assert score_batch(parse_truth_table(text), records, LABELS, "malignant").truth_column == "diagnosis"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("\ufffd\ufffdJFIF\x00\x01 binary\nx,y\n", "not a CSV header"),
        ('name,truth\na.jpg,"' + "x" * 200_000 + "\n", "over 131,072 characters"),
    ],
    ids=["an image saved as .csv", "a quote left open"],
)
def test_a_diagnoses_file_that_is_not_csv_says_so_in_words_a_researcher_reads(text, said):
    with pytest.raises(TruthError, match=said):
        parse_truth_table(text)


def test_names_in_another_unicode_form_and_invisible_characters_still_match():
    """The re-trial: a macOS name (é decomposed) matched no image, and a zero-width space after a
    diagnosis made it 'not a label'."""
    import unicodedata

    records = [decided(1, "mélanome é.jpg", "malignant"), decided(2, "b.jpg", "benign")]
    decomposed = unicodedata.normalize("NFD", "mélanome é.jpg")
    text = f"file_name,diagnosis\n{decomposed},malignant\u200b\nb.jpg,\ufeffbenign\u00a0\n"
    score = score_batch(parse_truth_table(text), records, LABELS, "malignant")
    assert score.unmatched_rows == [] and score.unknown_truths == [] and (score.right, score.wrong) == (2, 0)


def test_a_diagnoses_file_in_another_encoding_is_refused_with_the_fix():
    latin1 = "file_name,diagnosis\nm\xe9lanome.jpg,malignant\n".encode("latin-1").decode("utf-8", "replace")
    with pytest.raises(TruthError, match=r"not UTF-8 text \(row 2"):
        parse_truth_table(latin1)
