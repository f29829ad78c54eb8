"""Expand the SAM template to plain CloudFormation, then lint both with cfn-lint.

cfn-lint (and `sam validate --lint`) no longer run the SAM transform themselves, so a bad
!Ref inside a SAM-only property can pass them. Here the real SAM translator (samtranslator,
offline: a policy loader stub, local code paths swapped for s3:// URIs) expands the
template first and cfn-lint checks what CloudFormation would actually receive.

    .venv-infra/bin/python infra/lint.py [--template infra/template.yaml] [--out build/infra]

Exit status 0 when cfn-lint reports no errors and no warnings (informational notes are
printed but pass); 1 otherwise, with cfn-lint's findings on stdout. Nothing calls AWS.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_TEMPLATE = HERE / "template.yaml"
REGION = "us-east-1"
# cfn-lint exit status bits: 2 error, 4 warning, 8 informational (1 = the run itself failed).
FAILING_BITS = 1 | 2 | 4


class _NoManagedPolicies:
    """The translator maps managed-policy names to ARNs through IAM; we name none."""

    def load(self) -> dict:
        return {}


def load_template(path: Path) -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def _offline_code_uris(template: dict) -> dict:
    """Local CodeUri/ContentUri folders become s3:// URIs, as `sam package` would make them."""
    template = copy.deepcopy(template)
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"s3://spotter-lint-artifacts/{name}.zip"
        if resource.get("Type") == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = f"s3://spotter-lint-artifacts/{name}.zip"
    return template


def expand(template: dict, region: str = REGION) -> dict:
    """The CloudFormation template CloudFormation would get after the SAM transform."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    fragment = _offline_code_uris(template)
    parameters: dict = {}
    to_py27_compatible_template(fragment, parameters)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    expanded = translator.translate(fragment, parameter_values=parameters, get_managed_policy_map=lambda: {})
    return undo_mark_unicode_str_in_template(expanded)


def cfn_lint(path: Path, region: str = REGION) -> tuple[int, str]:
    exe = Path(sys.executable).with_name("cfn-lint")
    cmd = [str(exe) if exe.exists() else "cfn-lint", "--regions", region, "--format", "parseable", "--", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    return done.returncode, (done.stdout + done.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE.parent / "build" / "infra",
        help="where the expanded template is written (default build/infra)",
    )
    parser.add_argument("--region", default=REGION)
    parser.add_argument("--expanded-only", action="store_true", help="skip linting the template as written")
    args = parser.parse_args(argv)

    try:
        expanded = expand(load_template(args.template), args.region)
    except Exception as exc:  # the translator's own error is the finding
        print(f"SAM transform failed: {exc}")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    expanded_path = args.out / "template.expanded.json"
    expanded_path.write_text(json.dumps(expanded, indent=2, sort_keys=True) + "\n")
    print(f"expanded {args.template} -> {expanded_path} ({len(expanded['Resources'])} resources)")

    failed = False
    targets = [("template (as written)", args.template), ("template (SAM-expanded)", expanded_path)]
    for label, path in targets[1:] if args.expanded_only else targets:
        status, output = cfn_lint(path, args.region)
        verdict = "FAIL" if status & FAILING_BITS else "ok"
        print(f"cfn-lint {label}: {verdict} (exit {status})")
        if output:
            print(output)
        failed = failed or bool(status & FAILING_BITS)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
