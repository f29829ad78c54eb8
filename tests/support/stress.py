"""`make stress`: hostile uploads through a running `spotter up`, several rounds, with a summary table.

Each round uploads the fixed catalogue of hostile kinds (tests/support/hostile.py), hostile object
names, and fresh seeded random mutations of valid files; the first round adds real decompression
bombs (hundreds of MB decoded). Every upload must end as exactly one `ok` or `rejected` record
with a reason, nothing may reach the dead-letter queue, and after every round a normal image
must still be classified and GET /model must still answer. The bombs are also decoded alone
in fresh processes to report their peak memory (the classify function has 1024 MB).

    .venv/bin/python tests/support/stress.py [--rounds 3] [--mutations 300] [--seed 0] [--no-bombs]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent  # tests/support
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the helpers, and conftest.py

import hostile  # noqa: E402
from conftest import MODELS, ROOT, clean_env, start_local_stack  # noqa: E402

_MEASURE = r"""
# A fresh process running the real classify module (functions/classify/app.py: settings, the
# model, the decode worker), its S3 and DynamoDB replaced by stand-ins; one group of cases.
import importlib.util, json, pickle, sys, time
from spotter.ingest.events import S3Object
from spotter.ports import StoredObject

def status(field):
    return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(field + ":"))

def reset_peak():
    try:
        open("/proc/self/clear_refs", "w").write("5")
    except OSError:
        pass

spec = importlib.util.spec_from_file_location("classify_app", sys.argv[2])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
cases = pickle.load(open(sys.argv[1], "rb"))
current = {}
class Objects:
    def read(self, bucket, key, max_bytes, version_id=None):
        data = current["data"]
        return StoredObject(data=data[: max_bytes + 1], size=len(data), etag="e")
class Predictions:
    def put(self, record):
        current["record"] = record
        return True
app.service.objects, app.service.predictions = Objects(), Predictions()
for kind, name, path in cases:
    current.clear()
    current["data"] = data = open(path, "rb").read()  # one case in memory at a time
    reset_peak()
    started = time.perf_counter()
    app.service.deadline = None
    result = app.service.classify(S3Object(bucket="b", key="drones/stress/" + name, size=len(data)))
    seconds = time.perf_counter() - started
    record = current.get("record")
    stats = app.service.decoder.last_stats if app.service.decoder else {}
    worker = stats.get("peak", 0) if stats.get("seconds", 1e9) <= seconds else 0
    parent = status("VmHWM")
    outcome = result.status + (": " + (record.reason or "") if record is not None and record.reason else "")
    print(json.dumps({"kind": kind, "seconds": seconds, "parent_mb": parent / 2**20, "worker_mb": worker / 2**20,
                      "outcome": outcome}), flush=True)
"""


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run_round(endpoints: dict, process, cases: list[hostile.Case], number: int, timeout_s: float) -> dict:
    s3, table, sqs = hostile.clients(endpoints)
    prefix = f"drones/stress-{number}-{uuid.uuid4().hex[:6]}/"
    by_key = {prefix + c.name: c for c in cases}
    good = hostile.good_jpeg()
    for kind, key in hostile.hostile_keys(prefix + "keys/"):
        by_key[key] = hostile.Case(kind, key, good, hostile.OK, group="key")
    started = time.monotonic()
    hostile.upload_all(s3, endpoints["bucket"], [(k, c.data) for k, c in by_key.items()])
    web_cases = [c for c in cases if c.group in ("not an image", "damaged", "unsupported")][:10]
    web = hostile.presigned_uploads(endpoints["api"], web_cases, origin=endpoints["web"].rstrip("/"))
    found = hostile.wait_for_records(table, prefix, set(by_key), timeout_s=timeout_s)
    found.update(hostile.wait_for_records(table, "uploads/", set(web), timeout_s=timeout_s, settle_s=0))
    elapsed = time.monotonic() - started
    rows, problems = [], []
    for key, case in list(by_key.items()) + [
        (k, hostile.Case("web: " + c.kind, c.name, c.data, c.expect, c.reason_word, "web")) for k, c in web.items()
    ]:
        records = found.get(key, [])
        problems += hostile.problems_with(case, records)
        status = records[0]["status"] if len(records) == 1 else f"{len(records)} records"
        rows.append((case, status, (records[0].get("reason") or records[0].get("label") or "") if records else ""))
    # still serving after the round
    after = prefix + "after/normal.jpg"
    s3.put_object(Bucket=endpoints["bucket"], Key=after, Body=hostile.good_jpeg(hostile.RED))
    normal = hostile.wait_for_records(table, after, {after}, timeout_s=60, settle_s=0).get(after, [])
    import requests

    model = requests.get(f"{endpoints['api']}/model", timeout=10)
    serving = (
        process.poll() is None
        and len(normal) == 1
        and normal[0]["status"] == "ok"
        and normal[0].get("label") == "red"
        and model.status_code == 200
    )
    return {
        "rows": rows,
        "problems": problems,
        "elapsed": elapsed,
        "serving": serving,
        "uploads": len(by_key) + len(web),
        "dead_letters": hostile.dead_letters(sqs, endpoints["dead_letter_queue"]),
    }


def measure_memory(cases: list[hostile.Case]) -> list[dict]:
    """Each case classified by the real classify module in a fresh process per case class (a group):
    wall time, and peak memory = the classify process's peak + the decode worker's peak for that image
    (each reset before the image, so each case's numbers are its own)."""
    import pickle

    groups: dict[str, list[hostile.Case]] = defaultdict(list)
    for case in cases:
        groups[case.group].append(case)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for group, members in sorted(groups.items()):
            listed = []
            for number, case in enumerate(members):
                (Path(tmp) / f"{number}.bin").write_bytes(case.data)
                listed.append((case.kind, case.name, str(Path(tmp) / f"{number}.bin")))
            path = Path(tmp) / "cases.pickle"
            path.write_bytes(pickle.dumps(listed))
            env = clean_env(UPLOADS_BUCKET="b", PREDICTIONS_TABLE="t", AWS_DEFAULT_REGION="us-east-1")
            result = subprocess.run(
                [sys.executable, "-c", _MEASURE, str(path), str(ROOT / "functions/classify/app.py")],
                capture_output=True,
                text=True,
                timeout=1800,
                cwd=ROOT,
                env=env,
            )
            found = [
                row
                for row in (json.loads(line) for line in result.stdout.splitlines() if line.startswith("{"))
                if "parent_mb" in row
            ]  # (the function logs JSON lines too)
            for row in found:
                rows.append({"group": group, **row, "peak_mb": row["parent_mb"] + row["worker_mb"]})
            if result.returncode != 0 or len(found) != len(members):
                rows.append(
                    {
                        "group": group,
                        "kind": f"{len(members) - len(found)} cases not measured",
                        "seconds": 0,
                        "parent_mb": 0,
                        "worker_mb": 0,
                        "peak_mb": 0,
                        "outcome": "CRASH " + _short(result.stderr[-300:]),
                    }
                )
    return rows


def worst_table(rows: list[dict], memory_mb: int) -> str:
    lines = [
        f"| Case class | Cases | Worst s | Worst peak MB (of {memory_mb}) | Worst-peak case → outcome |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["group"]].append(row)
    for group, members in sorted(groups.items()):
        slowest = max(members, key=lambda r: r["seconds"])
        biggest = max(members, key=lambda r: r["peak_mb"])
        lines.append(
            f"| {group} | {len(members)} | {slowest['seconds']:.2f} | {biggest['peak_mb']:.0f} "
            f"| {_short(biggest['kind'], 40)} → {_short(biggest['outcome'], 60).replace('|', '/')} |"
        )
    return "\n".join(lines)


def group_summary(results: list[dict]) -> str:
    groups: dict[str, dict] = {}
    for result in results:
        for case, status, _ in result["rows"]:
            row = groups.setdefault(case.group, {"kinds": set(), "tried": 0, "ok": 0, "rejected": 0, "other": 0})
            row["kinds"].add(case.kind)
            row["tried"] += 1
            row[status if status in ("ok", "rejected") else "other"] += 1
    lines = ["| Group | Kinds | Uploads | ok | rejected | missing/dup |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in sorted(groups.items()):
        lines.append(
            f"| {name} | {len(row['kinds'])} | {row['tried']} | {row['ok']} | {row['rejected']} | {row['other']} |"
        )
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    """One row per kind (random mutations grouped by kind of damage and format)."""
    table: dict[str, dict] = {}
    for result in results:
        for case, status, detail in result["rows"]:
            row = table.setdefault(
                case.kind, {"group": case.group, "tried": 0, "ok": 0, "rejected": 0, "other": 0, "example": ""}
            )
            row["tried"] += 1
            row[status if status in ("ok", "rejected") else "other"] += 1
            if status == "rejected" and not row["example"]:
                row["example"] = _short(detail)
            elif status == "ok" and not row["example"]:
                row["example"] = "label " + detail
    lines = [
        "| Group | Kind | Tried | ok | rejected | missing/dup | Example outcome |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for kind, row in sorted(table.items(), key=lambda item: (item[1]["group"], item[0])):
        example = row["example"].replace("|", "\\|")
        lines.append(
            f"| {row['group']} | {kind.replace('|', '/')} | {row['tried']} | {row['ok']} | {row['rejected']} "
            f"| {row['other']} | {example} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mutations", type=int, default=300, help="random mutations per round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-bombs", action="store_true", help="skip the real decompression bombs (slow)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-measure", action="store_true", help="skip the per-class time and memory table")
    parser.add_argument("--measure-only", action="store_true", help="only the per-class table (no local stack)")
    args = parser.parse_args(argv)

    catalogue = hostile.catalogue()
    bombs = [] if args.no_bombs else hostile.big_bombs() + hostile.budget_bombs()
    if args.measure_only:
        rows = measure_memory(catalogue + bombs + hostile.mutations(args.mutations, seed=args.seed))
        from spotter.config import Settings

        print(worst_table(rows, Settings.from_env({}).function_memory_mb))
        for row in sorted(rows, key=lambda r: -r["peak_mb"])[:15]:
            print(
                f"{row['group']}\t{row['kind']}\t{row['seconds']:.2f} s\t{row['peak_mb']:.0f} MB"
                f"\t{_short(row['outcome'], 90)}"
            )
        return 0
    state = Path(tempfile.mkdtemp(prefix="spotter-stress-"))
    started = time.monotonic()
    process, endpoints = start_local_stack(state, MODELS / "colours-int8.tflite")
    output = hostile.drain_output(process)
    results = []
    try:
        for number in range(args.rounds):
            cases = catalogue + hostile.mutations(args.mutations, seed=args.seed + number)
            if number == 0:
                cases += bombs
            result = run_round(endpoints, process, cases, number, timeout_s=120 + 10 * len(bombs))
            results.append(result)
            print(
                f"round {number + 1}/{args.rounds}: {result['uploads']} uploads in {result['elapsed']:.1f} s, "
                f"{len(result['problems'])} problems, dead letters {result['dead_letters']}, "
                f"still serving: {result['serving']}",
                file=sys.stderr,
                flush=True,
            )
    except BaseException:
        print("last lines of spotter up:\n" + "".join(output), file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(timeout=30)
    measured = catalogue + bombs + (hostile.mutations(args.mutations, seed=args.seed) if args.mutations else [])
    memory = [] if args.no_measure else measure_memory(measured)

    uploads = sum(r["uploads"] for r in results)
    problems = [p for r in results for p in r["problems"]]
    kinds = {case.kind for r in results for case, _, _ in r["rows"]}
    statuses: defaultdict[str, int] = defaultdict(int)
    for r in results:
        for _, status, _ in r["rows"]:
            statuses[status] += 1
    print(
        f"\n## Hostile uploads: {args.rounds} rounds, {uploads} uploads, {len(kinds)} kinds "
        f"({args.mutations} random mutations per round, seed {args.seed}), {time.monotonic() - started:.0f} s\n"
    )
    print(group_summary(results) + "\n")
    print(summary(results))
    print(
        f"\nOutcomes: {dict(statuses)}. Problems: {len(problems)}. "
        f"Dead letters: {max((r['dead_letters'] for r in results), default=0)}. "
        f"Still serving after every round (normal image ok, GET /model 200): {all(r['serving'] for r in results)}."
    )
    if memory:
        from spotter.config import Settings

        budget = Settings.from_env({})
        print(
            f"\n## Worst time and peak memory per case class (the real classify module in a fresh process per "
            f"class; peak = classify process + decode worker; budget {budget.decode_memory_mb} MB and "
            f"{budget.decode_seconds:g} s a decode, function {budget.function_memory_mb} MB)\n"
        )
        print(worst_table(memory, budget.function_memory_mb))
        over = [r for r in memory if r["peak_mb"] > budget.function_memory_mb or r["outcome"].startswith("CRASH")]
        for row in over:
            problems.append(f"{row['kind']}: peak {row['peak_mb']:.0f} MB, {row['outcome']}")
    for problem in problems[:50]:
        print("PROBLEM:", problem)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "problems": problems,
                    "uploads": uploads,
                    "memory": memory,
                    "serving": all(r["serving"] for r in results),
                },
                indent=2,
            )
        )
    ok = not problems and all(r["serving"] and r["dead_letters"] == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
