"""Repeat `spotter sql` and indexed `spotter stats` on the local stack, side by side in one run.

    python -m benchmarks.analyst_reads [--records 1160] [--before DIR] [--rounds 3]

Starts `spotter up` (one per source tree: this checkout, and with --before DIR a second stack run
from another checkout's src/, e.g. `git archive` of an older commit), seeds each with the same
records (half of them a second model version, as after a reprocess), then alternates, per round:
`spotter sql` twice (the first brings the kept export up to date, the second is a repeat),
`spotter sql --no-cache`, `spotter sql --data` (a folder kept with --keep), `spotter stats --source hawk`
(the by-source index) and `spotter stats` (a scan). Prints the median wall time of each, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "models" / "colours-int8.tflite"


def _env(src: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(src), SPOTTER_CACHE_DIR=str(cache))
    return env


def _start(src: Path, state: Path, cache: Path) -> subprocess.Popen[bytes]:
    log = open(state / "up.log", "wb")
    command = [sys.executable, "-m", "spotter.cli", "up", "--state-dir", str(state), "--model", str(MODEL)]
    process = subprocess.Popen(command, cwd=src.parent, stdout=log, stderr=subprocess.STDOUT, env=_env(src, cache))
    for _ in range(600):
        if (state / "local.json").exists() and "Ctrl-C stops" in (state / "up.log").read_text():
            return process
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"spotter up did not start: {(state / 'up.log').read_text()[-2000:]}")


def _seed(state: Path, count: int) -> None:
    import boto3

    from spotter.adapters.dynamodb import DynamoPredictions
    from spotter.records import PredictionRecord, object_id_for

    local = json.loads((state / "local.json").read_text())
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    table = session.resource("dynamodb", endpoint_url=local["s3"]).Table(local["table"])
    rng = random.Random(3)
    for i in range(count // 2):
        source = ["hawk", "owl", "falcon"][i % 3]
        key = f"drones/{source}/f{i % 4}/img{i}.jpg"
        for model in ("m@1", "m@2"):
            label = rng.choice(["benign", "malignant"])
            score = round(rng.uniform(0.5, 1.0), 6)
            record = PredictionRecord(
                object_id=object_id_for("b", key),
                model=model,
                bucket="b",
                key=key,
                status="ok",
                source=source,
                batch=f"f{i % 4}",
                file_name=f"img{i}.jpg",
                uploaded_at=f"2026-11-{1 + i % 6:02d}T10:{i % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
                classified_at="2026-11-22T00:00:00.000Z",
                model_name="m",
                model_version=model[-1],
                label=label,
                score=score,
                top=[{"label": label, "score": score}, {"label": "other", "score": round(1 - score, 6)}],
                size=1000 + i,
                etag=f"e{i}",
                width=640,
                height=480,
                camera="DJI FC3582",
                latitude=45.0 + i / 1000,
                longitude=2.0 + i / 1000,
            )
            DynamoPredictions(table).put(record)


def _time(argv: list[str], src: Path, state: Path, cache: Path) -> float:
    command = [sys.executable, "-m", "spotter.cli", *argv]
    if "--data" not in argv:
        command += ["--state-dir", str(state)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=src.parent, env=_env(src, cache), capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.analyst_reads")
    parser.add_argument("--records", type=int, default=1160)
    parser.add_argument("--before", type=Path, help="another checkout whose src/ runs the 'before' stack")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"after": ROOT / "src"}
    if args.before:
        trees = {"before": args.before.resolve() / "src", **trees}
    query = ["sql", "SELECT source, count(*), sum(size) FROM predictions GROUP BY ALL"]
    with tempfile.TemporaryDirectory(prefix="spotter-bench-") as scratch:
        stacks = {}
        try:
            for name, src in trees.items():
                state, cache = Path(scratch) / name / "state", Path(scratch) / name / "cache"
                state.mkdir(parents=True)
                stacks[name] = (src, state, cache, _start(src, state, cache))
                _seed(state, args.records)
                kept = Path(scratch) / name / "kept"
                subprocess.run(
                    [sys.executable, "-m", "spotter.cli", *query, "--state-dir", str(state), "--keep", str(kept)],
                    cwd=src.parent,
                    env=_env(src, cache),
                    capture_output=True,
                    check=True,
                )
            cases = {
                "sql, first run": query,
                "sql, repeated": query,
                "sql --no-cache": [*query, "--no-cache"],
                "sql --data DIR": [*query, "--data", "KEPT"],
                "stats --source hawk (index)": ["stats", "--source", "hawk", "--model", "all"],
                "stats (scan)": ["stats", "--model", "all"],
            }
            times: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for name, (src, state, cache, _process) in stacks.items():
                    for sub in cache.glob("*"):  # the first run finds no kept export
                        subprocess.run(["rm", "-rf", str(sub)], check=True)
                    for case, argv in cases.items():
                        if case == "sql --no-cache" and name == "before":
                            argv = query  # before the cache, every run exported the whole table
                        argv = [str(Path(scratch) / name / "kept") if a == "KEPT" else a for a in argv]
                        if "--model" in argv and not (src / "spotter" / "results" / "versions.py").exists():
                            argv = argv[: argv.index("--model")]  # before issue 28, stats read every version
                        times.setdefault((case, name), []).append(_time(argv, src, state, cache))
        finally:
            for _src, _state, _cache, process in stacks.values():
                process.terminate()
                process.wait(timeout=30)
    print(f"{args.records} records, {args.rounds} rounds, median seconds (wall, including Python start)\n")
    print("| command | " + " | ".join(trees) + " |")
    print("| --- | " + " | ".join("---:" for _ in trees) + " |")
    for case in cases:
        print(f"| `{case}` | " + " | ".join(f"{statistics.median(times[(case, n)]):.2f}" for n in trees) + " |")


if __name__ == "__main__":
    main()
