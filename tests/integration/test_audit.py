"""Security linters in CI: bandit on the shipped code, pip-audit on the runtime requirements.

bandit must report nothing beyond the reasoned exceptions below (per file and check, so a new
finding anywhere else fails). pip-audit needs PyPI's JSON API (its vulnerability service);
where that cannot be reached the test skips and says so rather than passing silently.
"""

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import urllib.request

import pytest
from conftest import ROOT

# (file, bandit check) -> why it is not a problem here
BANDIT_EXCEPTIONS = {
    ("src/spotter/cli/sync.py", "B311"): "random() jitters retry back-off; nothing secret is derived from it",
    ("src/spotter/cli/target.py", "B106"): "'local' is the dummy credential for the moto-only local stack, set so that "
    "real credentials are never sent there",
    ("src/spotter/local/stack.py", "B106"): "the same dummy credential for the local stack's own clients",
    ("src/spotter/config.py", "B106"): "the same dummy credential, set in one place (config.use_local_aws) for "
    "the moto-only local stack and the CLI pointed at it",
    ("src/spotter/local/template.py", "B506"): "the loader is a yaml.SafeLoader subclass that only adds "
    "CloudFormation's !tags; bandit cannot see the base class",
    ("src/spotter/local/moto_process.py", "B404"): "starts the local moto server as a subprocess",
    ("src/spotter/local/moto_process.py", "B603"): "fixed argv (sys.executable -m moto.server, host, port), no shell",
    ("src/spotter/local/moto_process.py", "B310"): "urlopen probes the moto server's own http://127.0.0.1 URL",
    ("src/spotter/local/stack.py", "B310"): "urlopen probes the moto URL a local.json names, only if it is http(s)",
    ("src/spotter/adapters/served_model.py", "B310"): "urlopen reads the layer link Lambda gives, refused unless "
    "it is http(s) (RangeFile.__init__)",
    (
        "src/spotter/ingest/decode_sandbox.py",
        "B404",
    ): "starts the decode worker (python -m spotter.ingest.decode_sandbox) as a subprocess",
    (
        "src/spotter/ingest/decode_sandbox.py",
        "B603",
    ): "fixed argv (sys.executable -m spotter.ingest.decode_sandbox, two integers), no shell",
    ("src/spotter/results/sql.py", "B608"): "the view over the Parquet files: fixed identifiers, and paths quoted by "
    "_literal (single quotes doubled); the analyst's own query is never spliced into SQL",
}


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed: pip install -r requirements-dev.txt (make test does)")


def test_bandit_finds_nothing_beyond_the_reasoned_exceptions():
    _require("bandit")
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "src", "functions", "-q", "-f", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert not report["errors"], report["errors"]
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} ({r['issue_severity']}) {r['issue_text']}"
        for r in report["results"]
        if (r["filename"], r["test_id"]) not in BANDIT_EXCEPTIONS
    ]
    assert not findings, "new bandit findings (fix them, or add a reasoned exception):\n" + "\n".join(findings)


def _pypi_json_api_reachable() -> str | None:
    """pip-audit asks PyPI's per-release JSON (/pypi/NAME/VERSION/json, which carries the known
    vulnerabilities); some mirrors and proxies serve /pypi/NAME/json but not that."""
    url = f"https://pypi.org/pypi/pip/{importlib.metadata.version('pip')}/json"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            json.load(response)
        return None
    except Exception as exc:  # offline, a mirror without the JSON API, a proxy: all mean no audit
        return f"{type(exc).__name__}: {exc}"


def test_pip_audit_finds_no_known_vulnerabilities_in_the_runtime_requirements():
    _require("pip_audit")
    unreachable = _pypi_json_api_reachable()
    if unreachable:
        pytest.skip(f"pip-audit cannot reach its vulnerability service (PyPI's per-release JSON API): {unreachable}")
    result = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", "requirements.txt", "--format", "json", "--progress-spinner", "off"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not result.stdout.strip():
        pytest.fail(f"pip-audit printed no report (exit {result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)
    dependencies = report["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        pytest.skip(
            "pip-audit could not audit any dependency: " + dependencies[0]["skip_reason"]
            if dependencies
            else "pip-audit resolved no dependencies"
        )
    vulnerable = [
        f"{d['name']} {d['version']}: " + ", ".join(v["id"] for v in d["vulns"]) for d in audited if d.get("vulns")
    ]
    assert not vulnerable, "known vulnerabilities:\n" + "\n".join(vulnerable)
