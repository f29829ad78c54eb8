"""The `spotter` command. Each subcommand lives in its own module with a `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

SUBCOMMAND_MODULES = [
    "predict",
    "model",
    "up",
    "sync",
    "query",
    "stats",
    "sql",
    "export",
    "reprocess",
    "compare",
    "score",
    "dlq",
]

# The wheel's core is what the Lambda layer holds; the rest comes by role (pyproject.toml's extras).
# A command that reaches for a module of a missing extra names the extra instead of a traceback.
EXTRA_OF_MODULE = {
    "moto": "local",
    "werkzeug": "local",
    "yaml": "local",
    "duckdb": "analyst",
    "pyarrow": "analyst",
    "matplotlib": "analyst",
    "tensorflow": "build",
    "tf_keras": "build",
    "tensorflow_model_optimization": "build",
}


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (`spotter query: argument --since: ...`), never the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def join_dashed_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`--bbox -33.9,151.1,...`: argparse takes a value starting with "-" for an option unless it is a
    plain negative number. Glue such a value to its option (`--bbox=-33.9,...`) when the option takes
    one value and the value is no option of this command."""
    takes_value: set[str] = set()
    known: set[str] = set()
    actions = list(parser._actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                actions += sub._actions
    for action in actions:
        known.update(action.option_strings)
        if (
            action.option_strings
            and action.nargs is None
            and action.const is None
            and not isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._HelpAction))
        ):
            takes_value.update(action.option_strings)
    out, i = [], 0
    while i < len(argv):
        token = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if token in takes_value and nxt is not None and nxt.startswith("-") and nxt.split("=")[0] not in known:
            out.append(f"{token}={nxt}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="spotter", description="Serve an image classifier: classify, run the local stack, query results."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(join_dashed_values(parser, sys.argv[1:] if argv is None else list(argv)))
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except ModuleNotFoundError as exc:
        extra = EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(
            f"spotter {args.command}: needs {exc.name}, which comes with the [{extra}] extra: "
            f"pip install 'spotter[{extra}]'",
            file=sys.stderr,
        )
        return 1
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
