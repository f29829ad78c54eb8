"""After `sam deploy`: give the page its API address and publish it to the site bucket.

Reads the stack name and region from samconfig.toml (written by `sam deploy --guided`), the
stack's outputs with the AWS CLI, writes config.json ({"apiUrl": ...}, plus the researcher
sign-in settings when EnableAuth is on), syncs frontend/ to the site bucket and invalidates
the CloudFront cache.

    .venv/bin/python infra/deploy_site.py [--config-file samconfig.toml] [--aws .venv/bin/aws] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stack_settings(config_file: Path, env: str = "default") -> tuple[str, str]:
    """(stack name, region) from a SAM config file."""
    data = tomllib.loads(config_file.read_text())
    section = data.get(env, {})
    merged: dict = {}
    for command in ("global", "deploy"):
        merged.update(section.get(command, {}).get("parameters", {}))
    try:
        return merged["stack_name"], merged["region"]
    except KeyError as missing:
        raise SystemExit(f"{config_file}: no {missing} under [{env}.deploy.parameters]") from None


def site_config(outputs: dict[str, str]) -> dict:
    """What the page reads from /config.json."""
    config: dict = {"apiUrl": outputs["ApiUrl"]}
    if outputs.get("ResearcherUserPoolId"):
        config["auth"] = {
            "userPoolId": outputs["ResearcherUserPoolId"],
            "clientId": outputs["ResearcherUserPoolClientId"],
            "domain": outputs.get("ResearcherSignInDomain"),
        }
    return config


def publish_commands(
    aws: str, region: str, outputs: dict[str, str], frontend: Path, config_path: Path
) -> list[list[str]]:
    bucket = f"s3://{outputs['SiteBucketName']}"
    common = ["--region", region]
    return [
        [aws, "s3", "sync", str(frontend), f"{bucket}/", "--delete", "--exclude", "config.json", *common],
        [
            aws,
            "s3",
            "cp",
            str(config_path),
            f"{bucket}/config.json",
            "--content-type",
            "application/json",
            "--cache-control",
            "no-cache, max-age=0",
            *common,
        ],
        [
            aws,
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            outputs["SiteDistributionId"],
            "--paths",
            "/*",
            *common,
        ],
    ]


def stack_outputs(aws: str, stack: str, region: str) -> dict[str, str]:
    done = subprocess.run(
        [aws, "cloudformation", "describe-stacks", "--stack-name", stack, "--region", region, "--output", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    stacks = json.loads(done.stdout)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", type=Path, default=ROOT / "samconfig.toml")
    parser.add_argument("--config-env", default="default")
    parser.add_argument("--aws", default="aws", help="the AWS CLI to run")
    parser.add_argument("--frontend", type=Path, default=ROOT / "frontend")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)

    stack, region = stack_settings(args.config_file, args.config_env)
    outputs = stack_outputs(args.aws, stack, region)
    config = site_config(outputs)
    args.out.mkdir(parents=True, exist_ok=True)
    config_path = args.out / "config.json"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    print(f"{config_path}: {json.dumps(config)}")
    for command in publish_commands(args.aws, region, outputs, args.frontend, config_path):
        print("+", shlex.join(command))
        if not args.dry_run:
            subprocess.run(command, check=True)
    print(f"\nweb page: {outputs.get('SiteUrl')}\nAPI:      {outputs['ApiUrl']}")
    print(f"drones:   {outputs.get('DroneSyncCommand')}  (IAM users in group {outputs.get('DroneGroupName')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
