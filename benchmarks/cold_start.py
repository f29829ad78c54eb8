"""Cold start in a fresh process: imports + model load + first prediction, Spotter vs the TensorFlow way."""

from __future__ import annotations

import json
import subprocess
import sys

from .common import median_p95, table

SPOTTER = r"""
import json, time, sys
t0 = time.perf_counter()
from spotter.model.classifier import Classifier
from spotter.ingest.imaging import decode_image
t1 = time.perf_counter()
c = Classifier.load(sys.argv[1], num_threads=1)
t2 = time.perf_counter()
from PIL import Image
c.classify(Image.new("RGB", c.input_size, (120, 80, 60)))
t3 = time.perf_counter()
import resource
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first": t3 - t2,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

HANDLER = r"""
import json, os, time, sys
os.environ.update(SPOTTER_MODEL=sys.argv[1], AWS_DEFAULT_REGION="us-east-1", PREDICTIONS_TABLE="predictions",
                  AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", POWERTOOLS_METRICS_DISABLED="true")
t0 = time.perf_counter()
from spotter.local.lambda_runtime import load_handler_module
module = load_handler_module("classify")
t2 = time.perf_counter()
from PIL import Image
module.services().classifier.classify(Image.new("RGB", module.services().classifier.input_size, (120, 80, 60)))
t3 = time.perf_counter()
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from spotter.ingest.decode_sandbox import BudgetedDecoder
t4 = time.perf_counter()
BudgetedDecoder(module.services().decoder.limits).start().close()  # what the worker costs started alone
print(json.dumps({"import": t2 - t0, "load": 0.0, "first": t3 - t2, "rss_mb": rss,
                  "worker_alone": time.perf_counter() - t4}))
"""

# `spotter predict` of one full-resolution photo, as a user runs it: the command line, imports, model load,
# decode, inference, the JSON line.
PREDICT = r"""
import contextlib, io, json, sys, time
t0 = time.perf_counter()
from spotter.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["predict", sys.argv[2], "--model", sys.argv[1]])
assert code == 0, code
t1 = time.perf_counter()
import resource
print(json.dumps({"import": t1 - t0, "load": 0.0, "first": 0.0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

TENSORFLOW = r"""
import json, time, sys, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
t0 = time.perf_counter()
import numpy as np
import tensorflow as tf
t1 = time.perf_counter()
interpreter = tf.lite.Interpreter(model_path=sys.argv[1], num_threads=1)
interpreter.allocate_tensors()
t2 = time.perf_counter()
detail = interpreter.get_input_details()[0]
interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
interpreter.invoke()
interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
t3 = time.perf_counter()
import resource
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first": t3 - t2,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _tensorflow_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def _once(script: str, *args) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(results: list[dict]) -> dict[str, tuple[float, float]]:
    keys = ("import", "load", "first")
    summary = {k: median_p95([r[k] * 1000 for r in results]) for k in keys}
    summary["total"] = median_p95([sum(r[k] for k in keys) * 1000 for r in results])
    summary["rss_mb"] = median_p95([r["rss_mb"] for r in results])
    return summary


def _photo():
    from .overlap import photos

    return photos(1)[0]


def init_against_predict(model_path, runs: int = 7) -> dict:
    """The classify module's INIT and a whole `spotter predict` of a full-resolution photo, each in a
    fresh process, alternately."""
    photo, init, predict = _photo(), [], []
    for _ in range(runs):
        init.append(_once(HANDLER, model_path))
        predict.append(_once(PREDICT, model_path, photo))
    return {
        "init": _summary(init),
        "predict": _summary(predict),
        "photo": photo,
        "worker_alone": median_p95([r["worker_alone"] * 1000 for r in init]),
    }


def run(model_path, runs: int = 5) -> str:
    rows, measured = [], {}
    ways = [("Spotter (ai-edge-litert + Pillow)", SPOTTER)]
    if _tensorflow_installed():
        ways.append(("TensorFlow way (import tensorflow, tf.lite)", TENSORFLOW))
    for name, script in ways:  # interleaved per way, same model, same machine state
        s = _summary([_once(script, model_path) for _ in range(runs)])
        measured[name] = s["total"][0]
        rows.append(
            [
                name,
                f"{s['import'][0]:.0f}",
                f"{s['load'][0]:.1f}",
                f"{s['first'][0]:.1f}",
                f"{s['total'][0]:.0f} / {s['total'][1]:.0f}",
                f"{s['rss_mb'][0]:.0f}",
            ]
        )
    text = table(
        [
            "cold start (fresh process)",
            "imports ms",
            "model load ms",
            "first prediction ms",
            "total ms (med / p95)",
            "peak RSS MB",
        ],
        rows,
    )
    if len(measured) == 2:
        spotter, tf_way = measured.values()
        text += f"\n\nTensorFlow way / Spotter cold start: {tf_way / spotter:.1f}x (target >= 10x); Spotter total {spotter:.0f} ms (target < 500 ms)"

    side = init_against_predict(model_path)
    init, predict = side["init"], side["predict"]
    rows = [
        [
            "classify Lambda INIT (imports, clients, model, decode worker started beside them)",
            f"{init['import'][0]:.0f} / {init['import'][1]:.0f}",
            f"{init['rss_mb'][0]:.0f}",
        ],
        [
            f"`spotter predict {side['photo'].name}` (full resolution, whole command)",
            f"{predict['total'][0]:.0f} / {predict['total'][1]:.0f}",
            f"{predict['rss_mb'][0]:.0f}",
        ],
    ]
    text += "\n\n" + table(["fresh process, side by side", "ms (median / p95)", "peak RSS MB"], rows)
    text += (
        f"\n\nINIT / spotter predict: {init['import'][0] / predict['total'][0]:.2f}x (target < 2.5x); "
        f"the decode worker started alone takes {side['worker_alone'][0]:.0f} ms, which INIT overlaps "
        "with the clients and the model load"
    )
    return text
