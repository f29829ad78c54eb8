"""Where the analyst and drone commands point: the local stack, or a deployed stack on AWS.

Order: explicit flags, then `--stack NAME` (its drone parameter in SSM and its CloudFormation
outputs), then the environment
(UPLOADS_BUCKET, PREDICTIONS_TABLE, CLASSIFY_QUEUE_URL), then the running local stack's
`.spotter/local.json` (which also points boto3 at moto with throwaway credentials).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from spotter.config import target_names_from_env, use_aws_endpoint, use_local_aws


class TargetError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    bucket: str | None
    table: str | None
    queue_url: str | None
    dead_letter_queue_url: str | None
    description: str
    model: str | None = None  # the model the stack serves: the local one's (local.json), a deployed one's function


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target (default: the running local stack)")
    group.add_argument("--stack", help="a deployed Spotter CloudFormation stack to read names from")
    group.add_argument("--bucket", help="uploads bucket name")
    group.add_argument("--table", help="predictions table name")
    group.add_argument("--queue-url", help="classify queue URL")
    group.add_argument("--endpoint-url", help="AWS endpoint override (e.g. a moto server)")
    group.add_argument("--state-dir", type=Path, default=Path(".spotter"), help="local stack state (default .spotter)")


def _from_stack(name: str, bucket_only: bool = False) -> dict[str, str | None]:
    """The stack's names: the bucket from its drone parameter (all a drone may read, so `spotter sync
    --stack` works with a drone's permissions), and everything from its outputs where the caller may
    read them (analysts). Either alone is enough; neither is a TargetError. With `bucket_only` (sync),
    the outputs are not asked for once the parameter gave the bucket: a drone makes no denied call."""
    from spotter.adapters.aws import client
    from spotter.adapters.cloudformation import stack_outputs
    from spotter.adapters.ssm import drone_target

    found: dict[str, str | None] = {"bucket": None, "table": None, "queue_url": None, "dead_letter_queue_url": None}
    problems = []
    try:
        found["bucket"] = drone_target(client("ssm"), name)["bucket"]
    except Exception as exc:
        problems.append(f"its drone parameter: {exc}")
    if bucket_only and found["bucket"]:
        return found
    try:
        outputs = stack_outputs(client("cloudformation"), name)
    except Exception as exc:
        problems.append(f"its outputs: {exc}")
    else:
        found = {
            "classify_function": outputs.get("ClassifyFunctionName"),
            "bucket": found["bucket"] or outputs.get("UploadsBucketName"),
            "table": outputs.get("PredictionsTableName"),
            "queue_url": outputs.get("ClassifyQueueUrl"),
            "dead_letter_queue_url": outputs.get("ClassifyDeadLetterQueueUrl"),
        }
    if not any(found.values()):
        raise TargetError(f"cannot read stack {name}: " + "; ".join(problems))
    return found


def resolve(args: argparse.Namespace, bucket_only: bool = False) -> Target:
    """Where the command points (see the module's docstring); `bucket_only`: the command needs only the
    uploads bucket (sync)."""
    if args.endpoint_url:
        use_aws_endpoint(args.endpoint_url)
    found: dict[str, str | None] = {
        "bucket": args.bucket,
        "table": args.table,
        "queue_url": args.queue_url,
        "dead_letter_queue_url": None,
    }
    description = "flags"
    model = None
    if args.stack:
        from_stack = _from_stack(args.stack, bucket_only)
        function = from_stack.pop("classify_function", None)
        found = {k: found[k] or v for k, v in from_stack.items()}
        description = f"stack {args.stack}"
        if function and not bucket_only:
            model = _served_by(args.stack, function)
    env = target_names_from_env()
    if not any(found.values()) and any(env.values()):
        found, description = env, "environment"
    local_file = Path(args.state_dir) / "local.json"
    if not any(found.values()) and local_file.exists():
        local = json.loads(local_file.read_text())
        # the local stack is moto: any credentials work, and real ones must never be sent there
        use_local_aws(local["s3"], local.get("region", "us-east-1"), keep_endpoint=True)
        found = {
            "bucket": local["bucket"],
            "table": local["table"],
            "queue_url": local.get("queue"),
            "dead_letter_queue_url": local.get("dead_letter_queue"),
        }
        description, model = f"local stack ({local['s3']})", local.get("model")
    if not any(found.values()):
        raise TargetError(
            f"no target: no local stack described at {local_file.resolve()} (start one with `make run`, "
            "or point --state-dir at its folder), and no --stack NAME or --bucket/--table"
        )
    return Target(description=description, model=model, **found)


@cache
def _served_by(stack: str, function: str) -> str | None:
    """The model stack `stack`'s classify function serves, or None (and a line on stderr saying why,
    once): the readers then read every version, and say so when the records span several."""
    from spotter.adapters.aws import client
    from spotter.adapters.served_model import ServedModelUnknown, served_model
    from spotter.config import sql_cache_dir

    try:
        return served_model(client("lambda"), function, sql_cache_dir().parent / "served-models.json")
    except ServedModelUnknown as exc:
        print(f"spotter: which model stack {stack} serves is not known ({exc}): every version is read", file=sys.stderr)
        return None


def require(target: Target, *names: str) -> tuple[str, ...]:
    """The target's values for these names (`bucket, queue_url = require(target, "bucket", "queue_url")`);
    a TargetError naming each one it does not say."""
    values: list[str | None] = [getattr(target, n) for n in names]
    missing = [n for n, value in zip(names, values) if not value]
    if missing:
        flags = ", ".join("--" + n.replace("_", "-") for n in missing)
        raise TargetError(f"{target.description} does not say {', '.join(missing)}: pass {flags}")
    return tuple(value for value in values if value)
