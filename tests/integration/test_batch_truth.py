"""A researcher's diagnoses through the API: PUT /batches/{b}/truth stores `truth` on the batch's
records (the owner only) and scores the batch; GET /batches/{b}/score reads it back; the CSV export
and `spotter stats --by truth,decision` carry the same truths."""

import csv
import io

import images
from test_api import ALICE, ANALYST, BOB, _json, _upload, api, signed_in_api  # noqa: F401 (fixtures)


def _classified_batch(client, batch):
    files = [("r1.jpg", images.RED), ("r2.jpg", images.RED), ("b1.jpg", images.BLUE), ("g1.jpg", images.GREEN)]
    requested = [{"name": n, "type": "image/jpeg", "size": 1} for n, _ in files]
    forms = {
        u["name"]: u for u in _json(client("POST", "/uploads", {"files": requested, "batch": batch}))[1]["uploads"]
    }
    for name, colour in files:
        assert _upload(forms[name], images.jpeg(colour), name).status_code == 204
    client.stack.drain()


def test_diagnoses_are_stored_scored_and_read_back(api):  # noqa: F811 (the fixture imported above)
    batch = "truth-batch"
    _classified_batch(api, batch)
    diagnoses = "File Name,Diagnosis\nr1.jpg,red\nr2.jpg,blue\nb1,Blue\nghost.jpg,red\n"
    status, score = _json(api("PUT", f"/batches/{batch}/truth", {"csv": diagnoses}))
    assert status == 200, score
    assert score["matched"] == 3 and (score["right"], score["wrong"]) == (2, 1)
    assert score["confusion"] == {"red": {"red": 1}, "blue": {"red": 1, "blue": 1}}
    assert score["unmatched_rows"] == ["ghost.jpg"] and score["without_truth"] == ["g1.jpg"]
    stored = {r["file_name"]: r.get("truth") for r in api.stack.records() if r.get("batch") == batch}
    assert stored == {"r1.jpg": "red", "r2.jpg": "blue", "b1.jpg": "blue", "g1.jpg": None}
    again = _json(api("GET", f"/batches/{batch}/score"))[1]
    assert again["confusion"] == score["confusion"] and again["per_image"] == score["per_image"]
    # the CSV export carries the truth
    status, _, text = api("GET", f"/predictions.csv?batch={batch}")
    rows = {row["file_name"]: row["truth"] for row in csv.DictReader(io.StringIO(text))}
    assert rows == {"r1.jpg": "red", "r2.jpg": "blue", "b1.jpg": "blue", "g1.jpg": ""}
    # a new file replaces the truths: images it does not name lose theirs
    _json(api("PUT", f"/batches/{batch}/truth", {"csv": "name,truth\ng1.jpg,green\n"}))
    stored = {r["file_name"]: r.get("truth") for r in api.stack.records() if r.get("batch") == batch}
    assert stored == {"r1.jpg": None, "r2.jpg": None, "b1.jpg": None, "g1.jpg": "green"}


def test_a_diagnoses_file_that_cannot_be_read_is_a_400(api):  # noqa: F811 (the fixture imported above)
    batch = "truth-bad"
    _classified_batch(api, batch)
    status, body = _json(api("PUT", f"/batches/{batch}/truth", {"csv": "a,b\n1,2\n"}))
    assert status == 400 and "needs a name column" in body["message"]
    status, body = _json(api("PUT", f"/batches/{batch}/truth", {"rows": []}))
    assert status == 400 and '"csv"' in body["message"]
    assert _json(api("PUT", "/batches/no-such-batch/truth", {"csv": "name,truth\na,red\n"}))[0] == 404


def test_with_sign_in_only_the_batchs_owner_sets_its_diagnoses(signed_in_api):  # noqa: F811 (the fixture imported above)
    client = signed_in_api
    files = {"files": [{"name": "r1.jpg", "type": "image/jpeg", "size": 1}], "batch": "survey"}
    status, plan = client("POST", "/uploads", ALICE, files)
    assert status == 200
    batch = plan["batch"]
    assert _upload(plan["uploads"][0], images.jpeg(images.RED), "r1.jpg").status_code == 204
    client.stack.drain()
    body = {"csv": "name,truth\nr1.jpg,red\n"}
    assert client("PUT", f"/batches/{batch}/truth", BOB, body)[0] == 403
    assert client("PUT", f"/batches/{batch}/truth", ANALYST, body)[0] == 403  # analysts read diagnoses, never set them
    status, score = client("PUT", f"/batches/{batch}/truth", ALICE, body)
    assert status == 200 and score["right"] == 1
    assert client("GET", f"/batches/{batch}/score", ANALYST)[1]["right"] == 1


def test_spotter_score_prints_the_confusion_table_and_saves_truths(tmp_path):
    """`spotter score` on a drone folder through the running local stack: the same rule as the API."""
    import subprocess
    import sys

    import boto3
    from conftest import MODELS, ROOT, clean_env, start_local_stack
    from waiting import wait_until

    state = tmp_path / "state"
    state.mkdir()
    process, endpoints = start_local_stack(state, MODELS / "colours-int8.tflite")
    try:
        photos = tmp_path / "DCIM" / "f1"
        photos.mkdir(parents=True)
        for name, colour in (("r1.jpg", images.RED), ("r2.jpg", images.RED), ("b1.jpg", images.BLUE)):
            (photos / name).write_bytes(images.jpeg(colour))
        truth = tmp_path / "diagnoses.csv"
        truth.write_text("image_id,diagnosis\nr1,red\nr2,blue\nb1,blue\nghost,red\n")

        def cli(*argv):
            return subprocess.run(
                [sys.executable, "-m", "spotter.cli", *argv, "--state-dir", str(state)],
                cwd=ROOT, capture_output=True, text=True, timeout=120, env=clean_env(),
            )  # fmt: skip

        assert cli("sync", str(tmp_path / "DCIM"), "--source", "falcon").returncode == 0
        table = boto3.resource(
            "dynamodb", endpoint_url=endpoints["s3"], region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        ).Table(endpoints["table"])  # fmt: skip
        wait_until(lambda: len([r for r in table.scan()["Items"] if r.get("source") == "falcon"]) == 3, 90)
        done = cli("score", "f1", "--source", "falcon", "--labels", str(truth), "--save")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].split() == ["truth", "\\", "decision", "blue", "red"]
        assert lines[1].split() == ["blue", "1", "1"] and lines[2].split() == ["red", "0", "1"]
        assert "right 2, wrong 1, not assessed 0" in done.stdout
        assert "1 rows that matched no image: ghost" in done.stderr and "3 records' truth stored" in done.stderr
        assert "names from column image_id, truths from column diagnosis" in done.stderr
        stored = {r["file_name"]: r.get("truth") for r in table.scan()["Items"] if r.get("source") == "falcon"}
        assert stored == {"r1.jpg": "red", "r2.jpg": "blue", "b1.jpg": "blue"}
        stats = cli("stats", "--by", "truth,label", "--source", "falcon", "--format", "csv")
        assert stats.returncode == 0, stats.stderr
        assert "blue,red,1" in stats.stdout.replace('"', "") and "blue,blue,1" in stats.stdout.replace('"', "")
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_diagnosis_outlives_the_models_rewrite_of_the_same_image_but_not_a_new_picture(api):  # noqa: F811 (the fixture)
    """The ninth trial: a reprocess rewrote each record whole, and every truth of the batch was gone."""
    from decimal import Decimal

    from spotter.records import PredictionRecord

    batch = "truth-kept"
    _classified_batch(api, batch)
    _json(api("PUT", f"/batches/{batch}/truth", {"csv": "name,truth\nr1.jpg,red\nb1.jpg,blue\n"}))
    stored = {r["file_name"]: r for r in api.stack.records() if r.get("batch") == batch}
    writer = api.stack.handler_module.services().predictions  # the classify function's writer

    def rewrite(item: dict, **changes) -> None:
        plain = {k: float(v) if isinstance(v, Decimal) else v for k, v in item.items() if k != "truth"}
        record = PredictionRecord.from_dict({**plain, "top": [], "detections": [], **changes})
        assert writer.put(record)

    rewrite(stored["r1.jpg"], classified_at="2030-01-01T00:00:00.000Z")  # a reprocess: the same picture
    rewrite(stored["b1.jpg"], etag="another-picture")  # a new picture under the same key
    after = {r["file_name"]: r.get("truth") for r in api.stack.records() if r.get("batch") == batch}
    assert after["r1.jpg"] == "red" and after["b1.jpg"] is None


def test_the_answer_to_a_diagnoses_file_is_what_a_reload_shows(api):  # noqa: F811 (the fixture)
    """The last trial: an unusable truth kept the stored one, but the PUT's answer left the image out."""
    batch = "truth-answer"
    _classified_batch(api, batch)
    _json(api("PUT", f"/batches/{batch}/truth", {"csv": "name,truth\nr1.jpg,red\nb1.jpg,blue\n"}))
    status, answer = _json(api("PUT", f"/batches/{batch}/truth", {"csv": "name,truth\nr1.jpg,crimson\nb1.jpg,blue\n"}))
    assert status == 200 and answer["unknown_truths"] == [{"name": "r1.jpg", "truth": "crimson"}]
    reloaded = _json(api("GET", f"/batches/{batch}/score"))[1]
    assert answer["confusion"] == reloaded["confusion"] == {"red": {"red": 1}, "blue": {"blue": 1}}
    assert answer["matched"] == reloaded["matched"] == 2


def test_the_score_of_a_batch_that_does_not_exist_is_a_404_as_its_description_is(api):  # noqa: F811 (the fixture)
    """The trial: GET .../score of a deleted or unknown batch answered 200 with an empty score."""
    batch = "gone-batch"
    _classified_batch(api, batch)
    assert api("GET", f"/batches/{batch}/score")[0] == 200
    assert api("DELETE", f"/batches/{batch}")[0] == 200
    for name in (batch, "never-made"):
        assert api("GET", f"/batches/{name}/score")[0] == 404
        assert api("GET", f"/batches/{name}")[0] == 404


def test_the_answer_names_the_truth_column_it_read_and_the_images_that_kept_their_own(api):  # noqa: F811
    batch = "column-batch"
    _classified_batch(api, batch)
    _json(api("PUT", f"/batches/{batch}/truth", {"csv": "name,truth\nr1.jpg,red\nr2.jpg,blue\n"}))
    status, score = _json(
        api("PUT", f"/batches/{batch}/truth", {"csv": "image_id,diagnosis,truth\nr1,crimson,red\nr2,navy,<b>x</b>\n"})
    )
    assert status == 200 and score["truth_column"] == "truth" and score["kept"] == 1, score
    _json(api("PUT", f"/batches/{batch}/truth", {"csv": "name,truth\nr1.jpg,red\n"}))  # r2 has none now
    status, score = _json(api("PUT", f"/batches/{batch}/truth", {"csv": "name,truth\nr1.jpg,red\nr2.jpg,navy\n"}))
    assert status == 200 and score["kept"] == 0, score  # nothing stored to keep
