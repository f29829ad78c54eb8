"""The AWS template, checked offline: SAM's own validation, cfn-lint on the SAM expansion,
checkov with a short reasoned skip list (infra/checkov.yaml), `sam build` without a container,
and the contracts other code relies on (names, keys, prefixes, least privilege).

The tools come from .venv-infra (made by `make test` / `make install-infra`); nothing calls AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from spotter.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TEMPLATE = INFRA / "template.yaml"
INFRA_BIN = ROOT / ".venv-infra" / "bin"
CHECKOV = ROOT / ".venv-infra" / "checkov" / "bin" / "checkov"
LAMBDA_LIMIT_BYTES = 262_144_000  # function + layers, unzipped
LAYER_BUDGET_BYTES = 150 * 1000 * 1000  # ours: stay far below the limit

pytestmark = pytest.mark.infra


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


def _tool_env() -> dict:
    """No credentials, no endpoints, no telemetry: the tools must work offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true"
    )
    return env


def _tool(name: str) -> Path:
    path = INFRA_BIN / name
    if not path.exists():
        pytest.skip(f"{path} missing: `make test` (or `make install-infra`) installs the AWS tooling")
    return path


def _run(cmd: list, timeout: int = 300, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env or _tool_env(), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return done


def lambda_python() -> str | None:
    """A python3.12 for `sam build` (the Lambda runtime), on PATH or under pyenv."""
    candidates = [
        shutil.which("python3.12"),
        *sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.12*/bin/python3.12")),
    ]
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.strip()
    return None


def _statements(role: dict) -> list[dict]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _resource_text(statement: dict) -> list[str]:
    """Each Resource of a statement as text (a !Sub's template, a !GetAtt's dotted name)."""
    texts = []
    for r in _as_list(statement.get("Resource", [])):
        if isinstance(r, dict) and "Fn::Sub" in r:
            texts.append(r["Fn::Sub"])
        elif isinstance(r, dict) and "Fn::GetAtt" in r:
            texts.append(".".join(r["Fn::GetAtt"]))
        else:
            texts.append(str(r))
    return texts


# ----------------------------------------------------------------------------- the tools
def test_sam_validate():
    _run([_tool("sam"), "validate", "--template", TEMPLATE, "--region", "us-east-1"], timeout=120)


@pytest.fixture(scope="module")
def expanded(tmp_path_factory) -> Path:
    """infra/lint.py: the SAM-expanded template, linted (as written and expanded) by cfn-lint."""
    out = tmp_path_factory.mktemp("infra")
    done = subprocess.run(
        [str(_tool("python")), str(INFRA / "lint.py"), "--out", str(out)],
        cwd=ROOT,
        env=_tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    expanded_path = out / "template.expanded.json"
    return (
        expanded_path
        if done.returncode == 0
        else pytest.fail(f"infra/lint.py failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
    )


def test_cfn_lint_clean_on_the_sam_expansion(expanded):
    cfn = json.loads(expanded.read_text())
    assert {"ClassifyFunctionRole", "ClassifyFunctionUploads", "HttpApiApiGatewayDefaultStage"} <= set(cfn["Resources"])


def test_lint_catches_a_bad_ref_that_plain_cfn_lint_misses(tmp_path):
    """Why infra/lint.py expands first: a typo inside SAM Globals passes cfn-lint on the raw file."""
    bad = tmp_path / "template.yaml"
    bad.write_text(
        TEMPLATE.read_text().replace(
            "PREDICTIONS_TABLE: !Ref PredictionsTable", "PREDICTIONS_TABLE: !Ref PredictionTable"
        )
    )
    done = subprocess.run(
        [
            str(_tool("python")),
            str(INFRA / "lint.py"),
            "--template",
            str(bad),
            "--out",
            str(tmp_path),
            "--expanded-only",
        ],
        cwd=ROOT,
        env=_tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout
    assert "template (SAM-expanded): FAIL" in done.stdout and "PredictionTable" in done.stdout


def test_checkov_passes_with_the_reasoned_skip_list(expanded):
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV} missing: `make install-infra` installs it")
    config = yaml.safe_load((INFRA / "checkov.yaml").read_text())
    assert len(config["skip-check"]) <= 10, "keep the skip list short; fix findings instead"
    text = (INFRA / "checkov.yaml").read_text()
    for check in config["skip-check"]:  # every skip carries a reason: a comment right above it
        before = text[: text.index(f"- {check}")].rstrip().splitlines()
        assert any(line.strip().startswith(("#", "- CKV")) for line in before[-1:]), check
    done = _run(
        [CHECKOV, "--config-file", INFRA / "checkov.yaml", "-f", TEMPLATE, "-f", expanded, "--output", "json"],
        timeout=300,
    )
    reports = json.loads(done.stdout)
    for report in _as_list(reports):
        assert report["summary"]["failed"] == 0, json.dumps(report["results"]["failed_checks"], indent=1)[:4000]
        assert report["summary"]["passed"] > 40


@pytest.mark.slow
def test_sam_build_offline_without_a_container(tmp_path):
    """`sam build` (python3.12 functions, makefile-built layer) works here; sizes stay far below Lambda's limit."""
    python312 = lambda_python()
    if python312 is None:
        pytest.skip("no python3.12: sam build needs the Lambda runtime's Python on PATH")
    env = _tool_env()
    env["PATH"] = f"{Path(python312).parent}{os.pathsep}{env['PATH']}"
    if not list((ROOT / "model").glob("*.tflite")):  # before the demo model exists: a stand-in of its size
        stand_in = tmp_path / "model"
        stand_in.mkdir()
        (stand_in / "skin-lesion-int8.tflite").write_bytes(os.urandom(3_600_000))
        env["MODEL_DIR"] = str(stand_in)
    build = tmp_path / "build"
    _run(
        [_tool("sam"), "build", "--template", TEMPLATE, "--build-dir", build, "--cache-dir", tmp_path / "cache"],
        env=env,
        timeout=600,
    )

    layer = build / "RuntimeLayer"
    site = layer / "python"
    assert (site / "spotter" / "config.py").exists()
    assert not (site / "spotter" / "local").exists() and not (site / "spotter" / "modelbuild").exists()
    assert not (site / "boto3").exists(), "Lambda provides boto3"
    assert (site / "ai_edge_litert" / "interpreter.py").exists()
    assert list((layer / "model").glob("*.tflite"))
    for function in ("ClassifyFunction", "ApiFunction"):
        assert (build / function / "app.py").exists()

    def size(path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

    layer_bytes = size(layer)
    for function in ("ClassifyFunction", "ApiFunction"):
        total = size(build / function) + layer_bytes
        print(f"{function}: function + layer = {total / 1e6:.1f} MB unzipped")
        assert total < LAMBDA_LIMIT_BYTES
    assert layer_bytes < LAYER_BUDGET_BYTES, f"layer is {layer_bytes / 1e6:.1f} MB"

    # the layer's binary wheels load on the runtime's Python and run a model
    probe = (
        "import numpy as np, PIL.Image; from ai_edge_litert.interpreter import Interpreter; "
        f"i = Interpreter(model_path={str(ROOT / 'tests' / 'models' / 'colours-int8.tflite')!r}); "
        "i.allocate_tensors(); d = i.get_input_details()[0]; "
        "i.set_tensor(d['index'], np.zeros(d['shape'], d['dtype'])); i.invoke(); print('ok')"
    )
    done = _run([python312, "-c", probe], env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)}, timeout=120)
    assert done.stdout.strip().endswith("ok")

    # the copy function carries pyarrow in its own layer, and not the runtime layer
    copy_total = size(build / "CopyFunction") + size(build / "CopyLayer")
    print(f"CopyFunction: function + layer = {copy_total / 1e6:.1f} MB unzipped")
    assert copy_total < LAMBDA_LIMIT_BYTES
    probe = (
        "import io, pyarrow as pa, pyarrow.parquet as pq; from spotter.results.parquet_copy import changes_by_day; "
        "buffer = io.BytesIO(); pq.write_table(pa.table({'a': [1]}), buffer); print('ok')"
    )
    done = _run(
        [python312, "-c", probe],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(build / "CopyLayer" / "python")},
        timeout=120,
    )
    assert done.stdout.strip().endswith("ok")


# ----------------------------------------------------------------------------- contracts
def test_logical_ids_and_types(resources):
    want = {
        "UploadsBucket": "AWS::S3::Bucket",
        "SiteBucket": "AWS::S3::Bucket",
        "ClassifyQueue": "AWS::SQS::Queue",
        "ClassifyDeadLetterQueue": "AWS::SQS::Queue",
        "PredictionsTable": "AWS::DynamoDB::Table",
        "ClassifyFunction": "AWS::Serverless::Function",
        "ApiFunction": "AWS::Serverless::Function",
        "RuntimeLayer": "AWS::Serverless::LayerVersion",
        "HttpApi": "AWS::Serverless::HttpApi",
        "SiteDistribution": "AWS::CloudFront::Distribution",
    }
    assert {name: resources[name]["Type"] for name in want} == want
    # one table: the idempotency table went with issue 20 (the conditional, sequencer-ordered write keeps one record)
    assert [n for n, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"] == ["PredictionsTable"]


def test_predictions_table_keys_and_indexes(resources):
    props = resources["PredictionsTable"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["KeySchema"] == [
        {"AttributeName": "object_id", "KeyType": "HASH"},
        {"AttributeName": "model", "KeyType": "RANGE"},
    ]
    indexes = {
        i["IndexName"]: ([k["AttributeName"] for k in i["KeySchema"]], i["Projection"]["ProjectionType"])
        for i in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by-batch": (["batch", "uploaded_at"], "INCLUDE"),
        "by-source": (["source", "uploaded_at"], "INCLUDE"),
        "by-label": (["label", "uploaded_at"], "INCLUDE"),
        "by-day": (["upload_day", "uploaded_at"], "INCLUDE"),
        "by-owner": (["owner", "uploaded_at"], "INCLUDE"),
    }
    assert all(a["AttributeType"] == "S" for a in props["AttributeDefinitions"])


def _filtered_attributes(query) -> set[str]:
    """The attribute names the adapter's key condition and filter read for `query` on its index."""
    from boto3.dynamodb.conditions import ConditionExpressionBuilder

    from spotter.adapters.dynamodb import _filters, _key_condition
    from spotter.results.query import plan

    (partition,) = plan(query)[:1]
    names: set[str] = set()
    builder = ConditionExpressionBuilder()
    for condition, is_key in ((_filters(query, partition), False), (_key_condition(query, partition), True)):
        if condition is not None:
            names |= set(
                builder.build_expression(condition, is_key_condition=is_key).attribute_name_placeholders.values()
            )
    return names


def test_each_index_projects_what_its_queries_filter_on_and_no_more(resources):
    """INCLUDE projections (issue 20): an index entry holds its keys, the table's keys and what the
    filters of the queries `plan` sends to it read, so it stays one write unit whatever the record's
    EXIF and scores weigh; pages read the records whole with BatchGetItem."""
    from spotter.results.query import PredictionQuery, plan

    props = resources["PredictionsTable"]["Properties"]
    table_keys = {k["AttributeName"] for k in props["KeySchema"]}
    every = PredictionQuery(  # every filter but the ones that choose the index
        status="ok",
        since="2026-11-01T00:00:00.000Z",
        until="2026-11-03T00:00:00.000Z",
        captured_since="2026-10-01T00:00:00.000Z",
        captured_until="2026-10-02T00:00:00.000Z",
        min_score=0.2,
        max_score=0.9,
        bbox=(40.0, 170.0, 50.0, -170.0),
        model="m@1",
    )
    # each index with every filter a query sent to it can carry (the planner takes owner, then batch,
    # then source, then label, then a time window)
    routed = {
        "by-owner": every.replace(owner="u0123456789", batch="b", source="owl", label="benign"),
        "by-batch": every.replace(batch="b", source="owl", label="benign"),
        "by-source": every.replace(source="owl", label="benign"),
        "by-label": every.replace(label="benign"),
        "by-day": every,
    }
    projected_total = 0
    for index in props["GlobalSecondaryIndexes"]:
        name, projection = index["IndexName"], index["Projection"]
        query = routed[name]
        assert plan(query)[0].index == name
        keys = {k["AttributeName"] for k in index["KeySchema"]} | table_keys  # projected by DynamoDB itself
        included = set(projection["NonKeyAttributes"])
        assert not included & keys, f"{name}: DynamoDB refuses key attributes in NonKeyAttributes"
        assert _filtered_attributes(query) <= included | keys, name
        assert included <= _filtered_attributes(query), f"{name} projects what no query on it reads"
        assert not {"exif", "scores", "top_k", "file_name"} & included
        projected_total += len(included)
    assert projected_total <= 100  # DynamoDB's limit across a table's indexes


def test_queue_outlasts_every_allowed_function_timeout(template, resources):
    params = template["Parameters"]
    queue = resources["ClassifyQueue"]["Properties"]
    assert (
        queue["VisibilityTimeout"]
        >= 6 * params["ClassifyTimeout"]["MaxValue"] + params["ClassifyBatchingWindow"]["MaxValue"]
    )
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ClassifyDeadLetterQueue", "Arn"]}
    assert queue["SqsManagedSseEnabled"] and resources["ClassifyDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"]


def test_uploads_bucket_is_private_encrypted_and_notifies_the_queue(resources):
    bucket = resources["UploadsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)
    cors = bucket["CorsConfiguration"]["CorsRules"][0]
    assert "POST" in cors["AllowedMethods"] and "*" not in cors["AllowedOrigins"]
    configs = bucket["NotificationConfiguration"]["QueueConfigurations"]
    assert sorted(r["Value"] for c in configs for r in c["Filter"]["S3Key"]["Rules"]) == ["drones/", "uploads/"]
    assert all(
        c["Queue"] == {"Fn::GetAtt": ["ClassifyQueue", "Arn"]} and c["Event"] == "s3:ObjectCreated:*" for c in configs
    )
    policy = resources["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in policy)
    queue_policy = resources["ClassifyQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert (
        queue_policy["Principal"] == {"Service": "s3.amazonaws.com"}
        and "aws:SourceArn" in queue_policy["Condition"]["ArnEquals"]
    )


def test_classify_trigger_reports_partial_failures(resources):
    function = resources["ClassifyFunction"]["Properties"]
    (event,) = function["Events"].values()
    assert event["Type"] == "SQS"
    props = event["Properties"]
    assert props["Queue"] == {"Fn::GetAtt": ["ClassifyQueue", "Arn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert {"BatchSize", "MaximumBatchingWindowInSeconds"} <= set(props)
    for key in ("MemorySize", "Timeout"):
        assert "Ref" in function[key]
    assert "ReservedConcurrentExecutions" in function


def test_classify_can_never_write_where_it_is_triggered_from(resources):
    statements = _statements(resources["ClassifyFunctionRole"])
    for s in statements:
        if s["Effect"] == "Allow":
            actions = _as_list(s["Action"])
            assert not any(
                a.startswith("s3:")
                and a not in ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:DeleteObjectVersion")
                for a in actions
            ), s
            if "s3:DeleteObjectVersion" in actions:  # a late upload into a deleted batch: web uploads only
                assert actions == ["s3:DeleteObjectVersion"]
                assert _resource_text(s) == ["arn:${AWS::Partition}:s3:::${UploadsBucket}/uploads/*"]
            if any(a.startswith("s3:Get") for a in actions):
                assert sorted(_resource_text(s)) == sorted(
                    [
                        "arn:${AWS::Partition}:s3:::${UploadsBucket}/uploads/*",
                        "arn:${AWS::Partition}:s3:::${UploadsBucket}/drones/*",
                    ]
                )
            assert not any(a.endswith("*") for a in actions), s
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and "s3:PutObject" in deny[0]["Action"]
    tables = {t for s in statements if s["Effect"] == "Allow" for t in _resource_text(s) if "Table" in t}
    assert tables == {"PredictionsTable.Arn"}  # no idempotency table: the conditional write keeps one record


def test_api_signs_uploads_only_under_uploads_and_only_reads_predictions(resources):
    statements = _statements(resources["ApiFunctionRole"])
    put = [s for s in statements if "s3:PutObject" in _as_list(s["Action"])]
    assert len(put) == 1 and _resource_text(put[0]) == ["arn:${AWS::Partition}:s3:::${UploadsBucket}/uploads/*"]
    dynamo = {a for s in statements for a in _as_list(s["Action"]) if a.startswith("dynamodb:")}
    # it writes only refusal records and deletes only a deleted batch's records: no batch writes, and
    # its one update may change a record's `truth` only (PUT /batches/{batch}/truth)
    assert dynamo and "dynamodb:BatchWriteItem" not in dynamo
    updates = [s for s in statements if "dynamodb:UpdateItem" in _as_list(s["Action"])]
    assert len(updates) == 1 and _as_list(updates[0]["Action"]) == ["dynamodb:UpdateItem"]
    assert updates[0]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["object_id", "model", "truth"]}
    }
    writes = [s for s in statements if {"dynamodb:PutItem", "dynamodb:DeleteItem"} & set(_as_list(s["Action"]))]
    assert len(writes) == 1 and _resource_text(writes[0]) == ["PredictionsTable.Arn"]  # the table, no index, no other
    assert not any("Idempotency" in t for s in statements for t in _resource_text(s))
    # deleting a batch: object versions under uploads/ only, listed only under uploads/
    deletes = [s for s in statements if any(a.startswith("s3:Delete") for a in _as_list(s["Action"]))]
    assert [t for s in deletes for t in _resource_text(s)] == ["arn:${AWS::Partition}:s3:::${UploadsBucket}/uploads/*"]
    listing = [s for s in statements if "s3:ListBucketVersions" in _as_list(s["Action"])]
    assert len(listing) == 1 and listing[0]["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}
    assert not any(a == "s3:ListBucket" for s in statements for a in _as_list(s["Action"]))
    for function in ("ClassifyFunction", "ApiFunction"):
        props = resources[function]["Properties"]
        assert "Policies" not in props and props["Role"]["Fn::GetAtt"][0] == f"{function}Role"


def test_drones_write_only_under_their_own_folder(resources):
    statements = resources["DroneUploadPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    writes = [s for s in statements if s["Effect"] == "Allow" and "s3:PutObject" in _as_list(s["Action"])]
    assert [t for s in writes for t in _resource_text(s)] == [
        "arn:${AWS::Partition}:s3:::${UploadsBucket}/drones/${!aws:username}/*"
    ]
    listing = next(s for s in statements if "s3:ListBucket" in _as_list(s["Action"]))
    assert all(p.startswith("drones/${aws:username}/") for p in listing["Condition"]["StringLike"]["s3:prefix"])


def test_drones_cannot_archive_or_lock_their_uploads_and_can_find_their_bucket(resources):
    statements = {s["Sid"]: s for s in resources["DroneUploadPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    storage = statements["StandardStorageOnly"]
    assert storage["Effect"] == "Deny" and storage["Action"] == "s3:PutObject"
    # deny only when the header is present and not STANDARD (a request without it is STANDARD)
    assert storage["Condition"] == {
        "StringNotEquals": {"s3:x-amz-storage-class": "STANDARD"},
        "Null": {"s3:x-amz-storage-class": "false"},
    }
    sse_c = statements["NoCustomerKeys"]
    assert sse_c["Effect"] == "Deny" and sse_c["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}
    }
    # `spotter sync --stack` makes one read outside the bucket (cli/target.py): this stack's drone
    # parameter, which holds the bucket and prefix only; the stack's outputs and parameters (AlarmEmail)
    # are not the drones' to read
    find = statements["FindOwnBucket"]
    assert find["Effect"] == "Allow" and find["Action"] == "ssm:GetParameter"
    parameter = resources["DroneTargetParameter"]["Properties"]
    assert find["Resource"]["Fn::Sub"].endswith(":parameter" + parameter["Name"]["Fn::Sub"])
    assert json.loads(parameter["Value"]["Fn::Sub"]) == {"bucket": "${UploadsBucket}", "prefix": "drones/"}
    actions = [a for s in statements.values() if s["Effect"] == "Allow" for a in _as_list(s["Action"])]
    assert not [a for a in actions if a.startswith("cloudformation:")], actions
    target = (ROOT / "src" / "spotter" / "cli" / "target.py").read_text()
    assert "drone_target(" in target  # through the adapter, whose only call is GetParameter
    adapter = (ROOT / "src" / "spotter" / "adapters" / "ssm.py").read_text()
    assert adapter.count("client.") == 1 and "client.get_parameter(Name=drone_parameter_name(stack))" in adapter


def test_classify_never_updates_and_the_api_is_signed_in_by_default(template, resources):
    actions = {
        a
        for s in _statements(resources["ClassifyFunctionRole"])
        if s["Effect"] == "Allow" and "PredictionsTable.Arn" in _resource_text(s)
        for a in _as_list(s["Action"])
    }
    # DeleteItem: a web record written while its batch was being deleted is deleted again
    assert actions == {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"}
    assert template["Parameters"]["EnableAuth"]["Default"] == "true"


def test_functions_get_every_setting_the_code_reads(template, resources):
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    classify = {**shared, **resources["ClassifyFunction"]["Properties"]["Environment"]["Variables"]}
    api = {**shared, **resources["ApiFunction"]["Properties"]["Environment"]["Variables"]}
    common = {
        "UPLOADS_BUCKET",
        "PREDICTIONS_TABLE",
        "SPOTTER_MODEL",
        "MAX_UPLOAD_BYTES",
        "MAX_IMAGE_PIXELS",
        "TOP_K",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }
    assert common | {"MODEL_THREADS", "CLASSIFY_TIMEOUT_S", "CLASSIFY_BATCH_SIZE"} <= set(classify)
    assert "IDEMPOTENCY_TABLE" not in classify  # the classify function no longer writes an idempotency table
    assert classify["CLASSIFY_TIMEOUT_S"] == {"Ref": "ClassifyTimeout"}
    assert classify["CLASSIFY_BATCH_SIZE"] == {"Ref": "ClassifyBatchSize"}
    assert common | {"UPLOAD_URL_TTL", "VIEW_URL_TTL", "ALLOWED_ORIGINS", "AUTH_ENABLED"} <= set(api)
    assert shared["POWERTOOLS_METRICS_NAMESPACE"] == "Spotter"
    assert template["Globals"]["Function"]["Runtime"] == "python3.12"
    assert template["Globals"]["Function"]["Handler"] == "app.lambda_handler"


def test_the_template_deploys_the_size_limits_the_package_defaults_to(template):
    from spotter.config import Settings
    from spotter.ingest.imaging import DecodeLimits

    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    deployed = (int(shared["MAX_UPLOAD_BYTES"]), int(shared["MAX_IMAGE_PIXELS"]))
    assert deployed == (Settings().max_upload_bytes, Settings().max_image_pixels)
    assert deployed == (DecodeLimits().max_bytes, DecodeLimits().max_pixels)


def test_layer_is_built_by_its_makefile(resources):
    layer = resources["RuntimeLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / layer["Properties"]["ContentUri"].replace("../", "", 1) / "Makefile").read_text()
    assert "build-RuntimeLayer:" in makefile
    for function, code in (("ClassifyFunction", "functions/classify/"), ("ApiFunction", "functions/api/")):
        assert resources[function]["Properties"]["CodeUri"] == f"../{code}"


def test_site_is_private_behind_cloudfront_with_oac(resources):
    site = resources["SiteBucket"]["Properties"]
    assert all(site["PublicAccessBlockConfiguration"].values())
    origin = resources["SiteDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    allow = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert (
        allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        and "AWS:SourceArn" in allow["Condition"]["StringEquals"]
    )


def test_the_site_sends_a_strict_content_security_policy(resources):
    """The same directives as the local stack's static server (whose page test runs under them in
    Chromium), with the API, bucket and sign-in hosts as regional patterns (exact ones make a cycle)."""
    from spotter.local.static_site import content_security_policy

    behaviour = resources["SiteDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteHeadersPolicy"}
    headers = resources["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]
    assert csp["Override"] is True
    deployed = _directives(csp["ContentSecurityPolicy"]["Fn::Sub"])
    local = _directives(content_security_policy(["http://127.0.0.1:1", "http://127.0.0.1:2"]))
    assert set(deployed) == set(local)
    for name, sources in local.items():
        assert [s for s in sources if "127.0.0.1" not in s] == [s for s in deployed[name] if "${" not in s], name
    assert "'unsafe-inline'" not in csp["ContentSecurityPolicy"]["Fn::Sub"] and "*" not in deployed["script-src"]
    assert {"ContentTypeOptions", "FrameOptions", "ReferrerPolicy", "StrictTransportSecurity"} <= set(headers)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [p.split() for p in policy.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_the_api_signs_cursors_with_a_generated_secret_it_alone_reads(resources):
    env = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["CURSOR_KEY_SECRET"] == {"Ref": "CursorKeySecret"} and "CURSOR_KEY" not in env
    assert resources["CursorKeySecret"]["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    readers = [
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::Role"
        for s in _statements(r)
        if "secretsmanager:GetSecretValue" in _as_list(s["Action"])
    ]
    assert readers == ["ApiFunctionRole"]


def test_dead_letters_classify_errors_and_api_5xx_raise_alarms(template, resources):
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/Lambda", "Errors"),
        ("AWS/ApiGateway", "5xx"),
    } <= watched
    dlq = next(a for a in alarms.values() if a["MetricName"] == "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ClassifyDeadLetterQueue", "QueueName"]}
    assert dlq["Threshold"] == 0 and dlq["ComparisonOperator"] == "GreaterThanThreshold"
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert "AlarmTopicArn" in template["Outputs"]


def test_outputs_name_every_address_a_user_needs(template):
    assert {
        "SiteUrl",
        "ApiUrl",
        "UploadsBucketName",
        "DroneSyncCommand",
        "SiteBucketName",
        "SiteDistributionId",
        "PredictionsTableName",
        "ClassifyDeadLetterQueueUrl",
    } <= set(template["Outputs"])


def test_deploy_writes_the_page_config_from_stack_outputs(tmp_path):
    sys.path.insert(0, str(INFRA))
    try:
        import deploy_site
    finally:
        sys.path.remove(str(INFRA))
    config = tmp_path / "samconfig.toml"
    config.write_text((INFRA / "samconfig.example.toml").read_text())
    assert deploy_site.stack_settings(config) == ("spotter", "us-east-1")
    outputs = {
        "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/",
        "SiteBucketName": "site-bucket",
        "SiteDistributionId": "E123",
    }
    assert deploy_site.site_config(outputs) == {"apiUrl": outputs["ApiUrl"]}
    commands = deploy_site.publish_commands("aws", "us-east-1", outputs, ROOT / "frontend", tmp_path / "config.json")
    assert commands[0][:3] == ["aws", "s3", "sync"] and "s3://site-bucket/" in commands[0]
    assert "s3://site-bucket/config.json" in commands[1] and "E123" in commands[2]


def test_deploy_site_dry_run_reads_outputs_through_the_aws_cli(tmp_path):
    outputs = [
        {"OutputKey": k, "OutputValue": v}
        for k, v in {
            "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/",
            "SiteBucketName": "site-bucket",
            "SiteDistributionId": "E123",
            "SiteUrl": "https://d1.cloudfront.net/",
            "ResearcherUserPoolId": "us-east-1_X",
            "ResearcherUserPoolClientId": "client",
        }.items()
    ]
    fake_aws = tmp_path / "aws"
    fake_aws.write_text(f"#!/bin/sh\necho '{json.dumps({'Stacks': [{'Outputs': outputs}]})}'\n")
    fake_aws.chmod(0o755)
    config = tmp_path / "samconfig.toml"
    config.write_text((INFRA / "samconfig.example.toml").read_text())
    done = _run(
        [
            sys.executable,
            INFRA / "deploy_site.py",
            "--config-file",
            config,
            "--aws",
            fake_aws,
            "--out",
            tmp_path / "site",
            "--dry-run",
        ],
        timeout=60,
    )
    written = json.loads((tmp_path / "site" / "config.json").read_text())
    assert written["apiUrl"] == "https://abc.execute-api.us-east-1.amazonaws.com/"
    assert written["auth"]["userPoolId"] == "us-east-1_X"
    assert "create-invalidation" in done.stdout


def test_layer_wheels_follow_the_architecture(tmp_path):
    """The template's Architecture parameter and the layer's wheels agree: arm64 builds take aarch64
    wheels (ai-edge-litert 2.3.0 ships cp312 manylinux_2_27_aarch64), x86_64 builds x86_64 ones."""
    makefile = ROOT / "layers" / "runtime" / "Makefile"
    for architecture, wheels, other in (("arm64", "aarch64", "x86_64"), ("x86_64", "x86_64", "aarch64")):
        plan = subprocess.run(
            [
                "make",
                "-n",
                "-f",
                str(makefile),
                "build-RuntimeLayer",
                f"ARTIFACTS_DIR={tmp_path}",
                f"ARCHITECTURE={architecture}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"--platform manylinux_2_27_{wheels}" in plan and other not in plan


def test_classify_offers_snapstart_and_one_architecture_for_functions_and_layer(template, resources):
    assert template["Parameters"]["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    for function in ("ClassifyFunction", "ApiFunction"):  # both carry the runtime layer
        assert resources[function]["Properties"]["Architectures"] == [{"Ref": "Architecture"}]
    assert resources["RuntimeLayer"]["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    classify = resources["ClassifyFunction"]["Properties"]
    assert classify["SnapStart"] == {
        "Fn::If": ["ClassifySnapStartOn", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
    }
    assert classify["AutoPublishAlias"]  # SnapStart applies to published versions, which the trigger invokes
    assert template["Parameters"]["ClassifySnapStart"]["Default"] == "false"
