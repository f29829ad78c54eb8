"""The `spotter` command. Each subcommand lives in its own module with a `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMAND_MODULES = ["predict", "model", "up", "sync", "query", "export", "reprocess", "dlq"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spotter", description="Serve an image classifier: classify, run the local stack, query results.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except Exception as exc:
        if not type(exc).__module__.startswith("botocore"):
            raise
        print(f"spotter {args.command}: {_aws_problem(exc)}", file=sys.stderr)
        return 1


def _aws_problem(exc: Exception) -> str:
    """One line for an AWS error: no traceback for an unreachable endpoint or missing credentials."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    if isinstance(exc, EndpointConnectionError):
        return f"{exc}: is the local stack still running? (its .spotter/local.json stays behind if it was killed)"
    if isinstance(exc, NoCredentialsError):
        return f"{exc}: configure AWS credentials (a profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
