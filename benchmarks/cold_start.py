"""Cold start in a fresh process: imports + model load + first prediction, Spotter vs the TensorFlow way."""

from __future__ import annotations

import json
import subprocess
import sys

from .common import median_p95, table

SPOTTER = r"""
import json, time, sys
t0 = time.perf_counter()
from spotter.classifier import Classifier
from spotter.imaging import decode_image
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
os.environ.update(SPOTTER_MODEL=sys.argv[1], AWS_DEFAULT_REGION="us-east-1", IDEMPOTENCY_TABLE="idempotency",
                  AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", POWERTOOLS_METRICS_DISABLED="true")
t0 = time.perf_counter()
from spotter.local.lambda_runtime import load_handler_module
module = load_handler_module("classify")
t2 = time.perf_counter()
from PIL import Image
module.service.classifier.classify(Image.new("RGB", module.service.classifier.input_size, (120, 80, 60)))
t3 = time.perf_counter()
import resource
print(json.dumps({"import": t2 - t0, "load": 0.0, "first": t3 - t2,
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


def _sample(script: str, model_path, runs: int) -> dict[str, tuple[float, float]]:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", script, str(model_path)], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = ("import", "load", "first")
    summary = {k: median_p95([r[k] * 1000 for r in results]) for k in keys}
    summary["total"] = median_p95([sum(r[k] for k in keys) * 1000 for r in results])
    summary["rss_mb"] = median_p95([r["rss_mb"] for r in results])
    return summary


def run(model_path, runs: int = 5) -> str:
    rows, measured = [], {}
    ways = [("Spotter (ai-edge-litert + Pillow)", SPOTTER),
            ("classify Lambda module (+ Powertools, boto3; load included in imports)", HANDLER)]
    if _tensorflow_installed():
        ways.append(("TensorFlow way (import tensorflow, tf.lite)", TENSORFLOW))
    for name, script in ways:  # interleaved per way, same model, same machine state
        s = _sample(script, model_path, runs)
        measured[name] = s["total"][0]
        rows.append([name, f"{s['import'][0]:.0f}", f"{s['load'][0]:.1f}", f"{s['first'][0]:.1f}",
                     f"{s['total'][0]:.0f} / {s['total'][1]:.0f}", f"{s['rss_mb'][0]:.0f}"])
    text = table(["cold start (fresh process)", "imports ms", "model load ms", "first prediction ms",
                  "total ms (med / p95)", "peak RSS MB"], rows)
    if len(measured) == 3:
        spotter, _, tf_way = measured.values()
        text += f"\n\nTensorFlow way / Spotter cold start: {tf_way / spotter:.1f}x (target >= 10x); Spotter total {spotter:.0f} ms (target < 500 ms)"
    return text
