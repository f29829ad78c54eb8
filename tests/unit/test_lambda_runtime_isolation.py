"""Local instances of a function never share Powertools' per-event state (the trial saw a GET answered
without CORS headers while a DELETE ran: BaseRouter.current_event is a class attribute, one per process
on Lambda, and the local stack's instances of the API shared one process's class)."""

from spotter.local.lambda_runtime import PER_INSTANCE_PACKAGES, load_handler_module


def _base_router(module):
    return next(c for c in type(module.router).__mro__ if c.__name__ == "BaseRouter")


def test_each_instance_has_its_own_event_handler_classes(monkeypatch):
    monkeypatch.setenv("UPLOADS_BUCKET", "b")
    monkeypatch.setenv("PREDICTIONS_TABLE", "t")
    first, second = (load_handler_module("api", own_packages=PER_INSTANCE_PACKAGES) for _ in range(2))
    assert _base_router(first) is not _base_router(second)
    _base_router(first).current_event = "first's event"  # as resolve() sets it: on the class
    assert getattr(_base_router(second), "current_event", None) != "first's event"
    from aws_lambda_powertools.event_handler import api_gateway  # the process's own copy is untouched

    assert _base_router(first) is not api_gateway.BaseRouter and _base_router(second) is not api_gateway.BaseRouter
