"""SnapStart's runtime hooks in the classify module: INIT under `snap-start` starts no decode worker,
`before_snapshot` warms the model and leaves no child process, `after_restore` re-seeds randomness,
connects afresh and restarts the worker, and the restored function then classifies (moto, the real
model, the real worker)."""

import contextlib
import os
import random
from pathlib import Path

import images


def _children() -> set[int]:
    pids = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            pids |= {int(p) for p in (task / "children").read_text().split()}
    return pids


def test_snapshot_holds_no_worker_and_a_restore_classifies_with_fresh_state(moto, int8_model, monkeypatch):
    from stack import make_stack

    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    before = _children()
    stack = make_stack(int8_model)
    module, service = stack.handler_module, stack.handler_module.services()
    assert _children() == before  # INIT for a snapshot starts no decode worker

    runs = []
    classify = service.classifier.classify

    def counted_classify(image, top_k=3):
        runs.append(image.size)
        return classify(image, top_k)

    monkeypatch.setattr(service.classifier, "classify", counted_classify)
    module.before_snapshot()
    assert runs == [service.classifier.input_size]  # one warm-up inference went into the snapshot
    assert _children() == before  # and no child process

    snapshot_state = random.getstate()  # what every restore of this snapshot would start from
    old_clients = (service.objects.client, service.predictions.client)
    module.after_restore()
    first_draw = random.random()
    random.setstate(snapshot_state)
    assert first_draw != random.random()  # re-seeded: restores do not share random numbers
    assert service.objects.client is not old_clients[0] and service.predictions.client is not old_clients[1]
    assert len(_children() - before) == 1  # the decode worker, launched again

    stack.put("drones/owl/restored.jpg", images.jpeg(images.BLUE))
    stack.drain()
    record = stack.record_for("drones/owl/restored.jpg")
    assert record["status"] == "ok" and record["label"] == "blue"
    assert service.decoder.starts == 1
    service.decoder.close()
