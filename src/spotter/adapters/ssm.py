"""SSM adapter: what a drone reads to find its bucket (the stack's DroneTargetParameter)."""

from __future__ import annotations

import json
from typing import Any


def drone_parameter_name(stack: str) -> str:
    """Where stack `stack` publishes its drones' target (infra/template.yaml, DroneTargetParameter)."""
    return f"/spotter/{stack}/drone-target"


def drone_target(client: Any, stack: str) -> dict[str, str]:
    """{"bucket", "prefix"} of stack `stack`: one `ssm:GetParameter` call, the only read a drone may
    make besides its own folder (DroneUploadPolicy); ValueError when the parameter is not that JSON."""
    value = client.get_parameter(Name=drone_parameter_name(stack))["Parameter"]["Value"]
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("bucket"), str) or not data["bucket"]:
        raise ValueError(f"{drone_parameter_name(stack)} does not name a bucket: {value[:200]!r}")
    return {"bucket": data["bucket"], "prefix": str(data.get("prefix", "drones/"))}
