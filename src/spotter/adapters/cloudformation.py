"""CloudFormation adapter: a deployed stack's outputs (where a drone or an analyst finds its bucket and table)."""

from __future__ import annotations

from typing import Any


def stack_outputs(client: Any, name: str) -> dict[str, str]:
    """`OutputKey -> OutputValue` of stack `name`: one `cloudformation:DescribeStacks` call, the only
    permission a drone needs besides its own folder (`DroneUploadPolicy` in infra/template.yaml)."""
    stack = client.describe_stacks(StackName=name)["Stacks"][0]
    return {str(o["OutputKey"]): str(o["OutputValue"]) for o in stack.get("Outputs", [])}
