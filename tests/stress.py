"""`make stress`: hostile uploads through a running `spotter up`, several rounds, with a summary table.

Each round uploads the fixed catalogue of hostile kinds (tests/hostile.py), hostile object
names, and fresh seeded random mutations of valid files; the first round adds real decompression
bombs (hundreds of MB decoded). Every upload must end as exactly one `ok` or `rejected` record
with a reason, nothing may reach the dead-letter queue, and after every round a normal image
must still be classified and GET /model must still answer. The bombs are also decoded alone
in fresh processes to report their peak memory (the classify function has 1024 MB).

    .venv/bin/python tests/stress.py [--rounds 3] [--mutations 300] [--seed 0] [--no-bombs]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hostile  # noqa: E402
from conftest import MODELS, ROOT, clean_env, start_local_stack  # noqa: E402

_MEASURE = """
import sys, time
from spotter.errors import RejectedImage
from spotter.imaging import decode_image
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
try:
    decoded = decode_image(data)
    outcome = f"ok {decoded.width}x{decoded.height}"
except RejectedImage as rejection:
    outcome = "rejected: " + rejection.reason
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"{time.perf_counter() - started:.2f}\\t{peak_kb / 1024:.0f}\\t{outcome}")
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
    for key, case in list(by_key.items()) + [(k, hostile.Case("web: " + c.kind, c.name, c.data, c.expect,
                                                                c.reason_word, "web")) for k, c in web.items()]:
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
    serving = (process.poll() is None and len(normal) == 1 and normal[0]["status"] == "ok"
               and normal[0].get("label") == "red" and model.status_code == 200)
    return {"rows": rows, "problems": problems, "elapsed": elapsed, "serving": serving, "uploads": len(by_key) + len(web),
            "dead_letters": hostile.dead_letters(sqs, endpoints["dead_letter_queue"])}


def measure_memory(cases: list[hostile.Case]) -> list[tuple[str, int, str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            path = Path(tmp) / case.name
            path.write_bytes(case.data)
            result = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True,
                                    timeout=300, cwd=ROOT, env=clean_env())
            if result.returncode != 0:
                rows.append((case.kind, len(case.data), "-", "-", "CRASH " + _short(result.stderr[-300:])))
                continue
            seconds, peak_mb, outcome = result.stdout.strip().split("\t", 2)
            rows.append((case.kind, len(case.data), seconds, peak_mb, _short(outcome)))
    return rows


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
        lines.append(f"| {name} | {len(row['kinds'])} | {row['tried']} | {row['ok']} | {row['rejected']} | {row['other']} |")
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    """One row per kind (random mutations grouped by kind of damage and format)."""
    table: dict[str, dict] = {}
    for result in results:
        for case, status, detail in result["rows"]:
            row = table.setdefault(case.kind, {"group": case.group, "tried": 0, "ok": 0, "rejected": 0, "other": 0,
                                               "example": ""})
            row["tried"] += 1
            row[status if status in ("ok", "rejected") else "other"] += 1
            if status == "rejected" and not row["example"]:
                row["example"] = _short(detail)
            elif status == "ok" and not row["example"]:
                row["example"] = "label " + detail
    lines = ["| Group | Kind | Tried | ok | rejected | missing/dup | Example outcome |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for kind, row in sorted(table.items(), key=lambda item: (item[1]["group"], item[0])):
        example = row["example"].replace("|", "\\|")
        lines.append(f"| {row['group']} | {kind.replace('|', '/')} | {row['tried']} | {row['ok']} | {row['rejected']} "
                     f"| {row['other']} | {example} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mutations", type=int, default=300, help="random mutations per round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-bombs", action="store_true", help="skip the real decompression bombs (slow)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    catalogue = hostile.catalogue()
    bombs = [] if args.no_bombs else hostile.big_bombs()
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
            print(f"round {number + 1}/{args.rounds}: {result['uploads']} uploads in {result['elapsed']:.1f} s, "
                  f"{len(result['problems'])} problems, dead letters {result['dead_letters']}, "
                  f"still serving: {result['serving']}", file=sys.stderr, flush=True)
    except BaseException:
        print("last lines of spotter up:\n" + "".join(output), file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(timeout=30)
    memory = measure_memory(bombs + [c for c in catalogue if c.group == "bomb"]) if bombs else []

    uploads = sum(r["uploads"] for r in results)
    problems = [p for r in results for p in r["problems"]]
    kinds = {case.kind for r in results for case, _, _ in r["rows"]}
    statuses = defaultdict(int)
    for r in results:
        for _, status, _ in r["rows"]:
            statuses[status] += 1
    print(f"\n## Hostile uploads: {args.rounds} rounds, {uploads} uploads, {len(kinds)} kinds "
          f"({args.mutations} random mutations per round, seed {args.seed}), {time.monotonic() - started:.0f} s\n")
    print(group_summary(results) + "\n")
    print(summary(results))
    print(f"\nOutcomes: {dict(statuses)}. Problems: {len(problems)}. "
          f"Dead letters: {max((r['dead_letters'] for r in results), default=0)}. "
          f"Still serving after every round (normal image ok, GET /model 200): {all(r['serving'] for r in results)}.")
    if memory:
        print("\n## Decompression bombs decoded alone (fresh process; peak RSS includes ~30 MB of Python)\n")
        print("| Bomb | File bytes | Decode s | Peak RSS MB | Outcome |\n| --- | ---: | ---: | ---: | --- |")
        for kind, size, seconds, peak, outcome in memory:
            print(f"| {kind} | {size:,} | {seconds} | {peak} | {outcome} |")
    for problem in problems[:50]:
        print("PROBLEM:", problem)
    if args.json:
        args.json.write_text(json.dumps({"problems": problems, "uploads": uploads, "memory": memory,
                                         "serving": all(r["serving"] for r in results)}, indent=2))
    ok = not problems and all(r["serving"] and r["dead_letters"] == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
