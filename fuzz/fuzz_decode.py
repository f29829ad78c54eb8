"""Coverage-guided fuzzing (atheris, libFuzzer) of the image decoder: `make fuzz`.

Every input must decode to an RGB picture or raise RejectedImage with a non-empty reason; any
other exception, a hang (-timeout) or runaway memory (-rss_limit_mb) is a finding, saved under
build/fuzz/ as crash-*/timeout-*/oom-*. Pillow's Python plugins and spotter's decoding modules are
instrumented, so new header-parsing paths count as coverage. The seed corpus is generated
(valid files of every format and mode, plus the hostile catalogue), never committed.

    .venv/bin/python fuzz/fuzz_decode.py [--seconds 60] [extra libFuzzer flags]

Without atheris (it did not install), `--fallback` runs the same check on seeded random
mutations of the corpus for the same time, without coverage guidance.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "build" / "fuzz"

try:
    import atheris
except ImportError:  # the fallback below still works
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["PIL", "spotter"]):
        from PIL import Image

        Image.init()  # import every format plugin now, so its header parsing is instrumented too
        from spotter.errors import RejectedImage
        from spotter.ingest.imaging import decode_image
else:
    from spotter.errors import RejectedImage
    from spotter.ingest.imaging import decode_image


def check(data: bytes) -> None:
    try:
        decoded = decode_image(data, target_size=(64, 64))
    except RejectedImage as rejection:
        if not (isinstance(rejection.reason, str) and rejection.reason.strip()):
            raise AssertionError("RejectedImage without a reason") from None
        return
    if decoded.image.mode != "RGB" or min(decoded.image.size) < 1:
        raise AssertionError(f"decoded to {decoded.image.mode} {decoded.image.size}")


def write_seed_corpus(folder: Path) -> int:
    import hostile
    import images

    folder.mkdir(parents=True, exist_ok=True)
    seeds = [c.data for c in hostile.catalogue() if len(c.data) <= 64 * 1024]
    seeds += list(hostile._valid_samples().values())
    seeds += [data for data, _, _ in images.bad_and_odd_files().values()]
    for data in seeds:
        if data:
            (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(seeds)


def fallback(corpus: Path, seconds: float, seed: int = 0) -> int:
    """Random mutations without coverage guidance: a weaker stand-in when atheris is missing."""
    rng = random.Random(seed)
    pool = [p.read_bytes() for p in sorted(corpus.iterdir())]
    runs, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = bytearray(rng.choice(pool))
        for _ in range(rng.randint(1, 8)):
            how = rng.randrange(4)
            at = rng.randrange(len(data)) if data else 0
            if how == 0 and data:
                data[at] ^= 1 << rng.randrange(8)
            elif how == 1 and data:
                data[at] = rng.randrange(256)
            elif how == 2:
                del data[at : at + rng.randint(1, 64)]
            else:
                data[at:at] = rng.randbytes(rng.randint(1, 16))
        try:
            check(bytes(data))
        except Exception:
            OUT.mkdir(parents=True, exist_ok=True)
            crash = OUT / f"crash-{hashlib.sha1(data).hexdigest()}"
            crash.write_bytes(data)
            print(f"fallback fuzzer: crash after {runs} runs, input saved to {crash}", file=sys.stderr)
            raise
        runs += 1
    print(f"fallback fuzzer (no coverage guidance): Done {runs} runs in {seconds:.0f} second(s)", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--fallback", action="store_true", help="random mutations without atheris")
    args, libfuzzer_flags = parser.parse_known_args()
    corpus = OUT / "corpus"
    print(f"seed corpus: {write_seed_corpus(corpus)} files in {corpus}", file=sys.stderr)
    if args.fallback or atheris is None:
        if atheris is None:
            print("atheris is not installed: using the fallback fuzzer", file=sys.stderr)
        return fallback(corpus, args.seconds)
    OUT.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={args.seconds}",
        "-timeout=20",
        "-rss_limit_mb=2560",
        "-max_len=65536",
        f"-artifact_prefix={OUT}/",
        "-print_final_stats=1",
        *libfuzzer_flags,
    ]
    atheris.Setup(argv, check)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
