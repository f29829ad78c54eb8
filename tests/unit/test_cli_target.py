"""Where `--stack NAME` points: a drone's sync reads only the stack's drone parameter, never the stack's
outputs (DescribeStacks, which its policy denies and which would name every parameter)."""

from __future__ import annotations

import pytest

from spotter.cli import target


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    services: list[str] = []

    def client(service: str, **kw: object) -> str:
        services.append(service)
        return service

    monkeypatch.setattr("spotter.adapters.aws.client", client)
    monkeypatch.setattr("spotter.adapters.ssm.drone_target", lambda ssm, name: {"bucket": "b", "prefix": "drones/"})
    outputs = {"UploadsBucketName": "b", "PredictionsTableName": "t", "ClassifyQueueUrl": "q"}
    monkeypatch.setattr("spotter.adapters.cloudformation.stack_outputs", lambda cfn, name: outputs)
    return services


def test_a_sync_reads_the_drone_parameter_and_never_describes_the_stack(asked: list[str]):
    assert target._from_stack("prod", bucket_only=True)["bucket"] == "b"
    assert asked == ["ssm"]


def test_an_analyst_gets_the_outputs_too(asked: list[str]):
    found = target._from_stack("prod")
    assert (found["bucket"], found["table"]) == ("b", "t") and asked == ["ssm", "cloudformation"]


def test_an_empty_model_is_refused_and_a_filter_matching_nothing_says_only_that(capsys: pytest.CaptureFixture[str]):
    """The trial: `--model ""` read the served model silently, and a --min-score matching nothing was
    blamed on images classified before the model was deployed."""
    from spotter.cli import main as spotter
    from spotter.cli.query import say_spanned

    with pytest.raises(SystemExit) as stopped:
        spotter(["stats", "--model", " "])
    assert stopped.value.code == 2 and "not an empty name" in capsys.readouterr().err
    say_spanned([], "query", served="m@2")
    err = capsys.readouterr().err
    assert "matches these filters" in err and "deployed" not in err
