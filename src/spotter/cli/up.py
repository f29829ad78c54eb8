"""`spotter up`: run the local stack until Ctrl-C."""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("up", help="run the local stack (moto, classifier, API, web page) on 127.0.0.1")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--web-port", type=int, default=0, help="web page port (default: a free one)")
    parser.add_argument("--api-port", type=int, default=0, help="HTTP API port (default: a free one)")
    parser.add_argument("--s3-port", type=int, default=0, help="moto (S3, SQS, DynamoDB) port (default: a free one)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".spotter"),
        help="the local data (images, records, pending work) and local.json (default .spotter)",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="delete the local data in --state-dir first (says what it deletes), then start empty",
    )
    parser.add_argument(
        "--model",
        help="a .tflite classifier or SSD detector, or a shipped one by name: 'count' (the COCO object "
        "detector) or 'skin-lesion' (default: the skin-lesion demo model, or SPOTTER_MODEL)",
    )
    parser.add_argument("--labels", type=Path, help="labels file, one per line (overrides the model card's)")
    parser.add_argument("--visibility-timeout", type=int, help="override the queue's visibility timeout (seconds)")
    parser.add_argument("--pollers", type=int, default=1, help="concurrent classify 'Lambda instances' (default 1)")
    parser.add_argument("--no-browser", action="store_true", help="accepted for scripts; no browser is ever opened")
    parser.add_argument("--verbose", action="store_true", help="show the handlers' JSON logs")
    parser.set_defaults(run=run)


def _is_wildcard(host: str) -> bool:
    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:  # a host name
        return False


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)  # moto's request log
    from spotter.config import model_path_from_env, resolve_model

    if _is_wildcard(args.host):
        print(
            "spotter up: --host must be an address a browser can reach (the page, the API and presigned URLs "
            "name it), not a wildcard: give this machine's own address",
            file=sys.stderr,
        )
        return 2

    model = resolve_model(args.model) if args.model else model_path_from_env()
    if not Path(model).exists():
        print(
            f"spotter up: no model at {model}: pass --model PATH.tflite (the demo model is built by `make model`)",
            file=sys.stderr,
        )
        return 2
    for module in ("moto", "yaml"):  # moto runs in a child process: check here, where the extra can be named
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    from spotter.local.stack import LocalOptions, LocalStack, StackRunning, refused_message

    stack = LocalStack(
        LocalOptions(
            host=args.host,
            web_port=args.web_port,
            api_port=args.api_port,
            s3_port=args.s3_port,
            state_dir=args.state_dir,
            model=model if args.model else None,
            labels=args.labels,
            visibility_timeout_s=args.visibility_timeout,
            pollers=args.pollers,
            log_level="INFO" if args.verbose else "WARNING",
        )
    )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal was closed
        signal.signal(sig, lambda *_: stopped.set())
    try:
        stack.claim()
    except StackRunning as running:
        print(f"spotter up: could not start: {refused_message(args.state_dir, running.args[0])}", file=sys.stderr)
        return 1
    except OSError as exc:  # a read-only or missing parent folder, no space: one line, not a traceback
        print(
            f"spotter up: cannot use the state folder {args.state_dir}: {exc.strerror or exc}"
            f"{f' ({exc.filename})' if exc.filename else ''}",
            file=sys.stderr,
        )
        return 2
    try:
        if args.reset:
            before = stack.stored()
            print(
                f"--reset: deleting {_found(before)} ({_size(before['bytes'])}) in {args.state_dir}: "
                f"{', '.join(str(p) for p in stack.reset()) or 'nothing there yet'}",
                flush=True,
            )
        endpoints = stack.start()
    except Exception as exc:
        print(f"spotter up: could not start: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    found = stack.found
    print(f"Spotter is running (model {endpoints['model']}).", flush=True)
    print(
        f"  state      {args.state_dir}: found {_found(found)}"
        + (
            f"; dropped {found['retired']} items of the idempotency table Spotter no longer has"
            if found.get("retired")
            else ""
        )
        + (
            f"; kept but not loaded (not in the template): {', '.join(found['orphaned'][:5])}"
            if found["orphaned"]
            else ""
        )
    )
    if found.get("missing"):
        missing = found["missing"]
        print(
            f"  warning    {len(missing)} stored object version(s) have no bytes in {args.state_dir / 'blobs'} and were "
            f"not loaded (their rows stay in data.sqlite3; put the blobs back and restart): "
            f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}",
            flush=True,
        )
    print(f"  web page   {endpoints['web']}")
    print(f"  API        {endpoints['api']}  (health: {endpoints['api']}/health)")
    print(f"  S3/SQS/DDB {endpoints['s3']}  bucket {endpoints['bucket']}, table {endpoints['table']}")
    print(
        f"  drones     AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local .venv/bin/aws s3 sync DIR "
        f"s3://{endpoints['bucket']}/drones/NAME/ --endpoint-url {endpoints['s3']}"
    )
    print(f"  endpoints written to {args.state_dir / 'local.json'}; Ctrl-C stops everything.", flush=True)
    while not stopped.wait(0.5):
        if stack.failed.is_set():
            print(f"spotter up: {stack.failure}", file=sys.stderr, flush=True)
            print("stopping everything.", file=sys.stderr, flush=True)
            stack.stop()
            return 1
    print("stopping...", flush=True)
    stack.stop()
    return 0


def _found(found: dict[str, Any]) -> str:
    text = f"{found['images']} images, {found['records']} records, {found['pending']} pending"
    return text + (f", {found['dead_letters']} dead letters" if found.get("dead_letters") else "")


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e5 else f"{count / 1e3:.0f} kB"
