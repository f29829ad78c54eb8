"""One poll-until-deadline loop for the tests that wait on a running stack."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    timeout_s: float,
    interval_s: float = 0.3,
    *,
    until: Callable[[T], object] = bool,
    fail: bool | Callable[[T], str] = True,
) -> T:
    """Call `probe` every `interval_s` until `until(value)` holds; returns that value. `probe` runs at
    least once, and once more at the deadline. Past it: `fail=True` fails the test, `fail=<callable>`
    fails it with `fail(last value)` as the message, `fail=False` returns the last value for the
    caller's own assertion."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            if fail is False:
                return value
            pytest.fail(fail(value) if callable(fail) else f"not within {timeout_s} s; last: {value!r:.2000}")
        time.sleep(interval_s)
