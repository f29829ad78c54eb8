"""Read the emulated resources from `infra/template.yaml`: the template is the one source of truth.

Intrinsic functions are resolved as far as a local stack can: `!Ref` to a parameter gives its
default, `!Sub` fills parameters and pseudo parameters (stack name `spotter`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from spotter.config import shipped
from spotter.local.resources import StackSpec, TableSpec

TEMPLATE = shipped("infra/template.yaml")
STACK_NAME = "spotter"
PSEUDO = {
    "AWS::StackName": STACK_NAME,
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types (SafeLoader is Any)
    pass


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    """A CloudFormation short form (`!Ref X`, `!Sub ...`) as its long form ({"Ref": X}, {"Fn::Sub": ...})."""
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_CfnLoader)
    return template


class Resolver:
    def __init__(self, template: dict[str, Any]):
        self.parameters = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        self.resources = template.get("Resources", {})

    def value(self, node: Any) -> Any:
        """A literal, or what a local stack can make of an intrinsic function; None when unknown.
        `node`: any part of the template (a scalar, list or mapping, as YAML gives it)."""
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Ref":
                return PSEUDO.get(arg, self.parameters.get(arg))
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def fill(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in extra:
                        return str(self.value(extra[name]))
                    found = PSEUDO.get(name, self.parameters.get(name))
                    return str(found) if found is not None else match.group(0)

                return re.sub(r"\$\{([^}!]+)\}", fill, text)
            if fn.startswith("Fn::") or fn == "Condition":
                return None
        if isinstance(node, dict):
            return {k: self.value(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(v) for v in node]
        return node

    def properties(self, logical_id: str) -> dict[str, Any]:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise KeyError(f"infra/template.yaml has no resource {logical_id}")
        properties: dict[str, Any] = self.value(resource.get("Properties", {}))
        return properties


def _table(props: dict[str, Any], default_name: str) -> TableSpec:
    indexes = [
        {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
        for index in props.get("GlobalSecondaryIndexes") or []
    ]
    ttl = props.get("TimeToLiveSpecification") or {}
    return TableSpec(
        name=props.get("TableName") or default_name,
        key_schema=props["KeySchema"],
        attribute_definitions=props["AttributeDefinitions"],
        global_secondary_indexes=indexes,
        ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled", True) else None,
        stream_view_type=(props.get("StreamSpecification") or {}).get("StreamViewType"),
    )


def _notify_prefixes(bucket: dict[str, Any]) -> tuple[str, ...]:
    prefixes = []
    for config in (bucket.get("NotificationConfiguration") or {}).get("QueueConfigurations", []):
        rules = ((config.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
        prefixes += [rule["Value"] for rule in rules if str(rule.get("Name", "")).lower() == "prefix"]
    return tuple(prefixes)


def _sqs_trigger(function: dict[str, Any]) -> dict[str, Any]:
    for event in (function.get("Events") or {}).values():
        if event.get("Type") == "SQS":
            properties: dict[str, Any] = event.get("Properties", {})
            return properties
    raise KeyError("ClassifyFunction has no SQS event")


def stack_spec(path: Path = TEMPLATE) -> StackSpec:
    template = load_template(path)
    resolver = Resolver(template)
    bucket = resolver.properties("UploadsBucket")
    queue = resolver.properties("ClassifyQueue")
    dlq = resolver.properties("ClassifyDeadLetterQueue")
    function = resolver.properties("ClassifyFunction")
    globals_ = resolver.value((template.get("Globals") or {}).get("Function") or {})
    trigger = _sqs_trigger(function)
    redrive = queue.get("RedrivePolicy") or {}
    return StackSpec(
        bucket=bucket.get("BucketName") or f"{STACK_NAME}-uploads",
        queue=queue.get("QueueName") or f"{STACK_NAME}-classify",
        dead_letter_queue=dlq.get("QueueName") or f"{STACK_NAME}-classify-dlq",
        visibility_timeout_s=int(queue.get("VisibilityTimeout", 30)),
        max_receive_count=int(redrive.get("maxReceiveCount", 5)),
        predictions=_table(resolver.properties("PredictionsTable"), f"{STACK_NAME}-predictions"),
        notify_prefixes=_notify_prefixes(bucket) or ("uploads/", "drones/"),
        batch_size=int(trigger.get("BatchSize", 10)),
        batching_window_s=int(trigger.get("MaximumBatchingWindowInSeconds", 0) or 0),
        function_timeout_s=int(function.get("Timeout") or globals_.get("Timeout") or 30),
        versioned=(bucket.get("VersioningConfiguration") or {}).get("Status") == "Enabled",
    )
