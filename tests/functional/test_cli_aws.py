"""Commands that talk to AWS, run as a user runs them: a missing region or credentials is one
line and exit 3, and --region / --profile choose the account and region (moto in process)."""

import json

import pytest

from lakeguard.cli import main

OUTPUTS = {"RawBucketName": "raw-b", "CleanBucketName": "clean-b", "RefinedBucketName": "refined-b",
           "QuarantineBucketName": "quarantine-b", "ArtefactsBucketName": "artefacts-paris",
           "GlueDatabaseName": "r_db", "LedgerTableName": "ledger", "CleanDatabaseName": "c_db"}


@pytest.fixture
def paris(aws):
    """A deployed environment in eu-west-3 only: its stack outputs and an empty registry."""
    import boto3

    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {k: {"Value": v} for k, v in OUTPUTS.items()}}
    boto3.client("cloudformation", region_name="eu-west-3").create_stack(
        StackName="lakeguard-dev-storage", TemplateBody=json.dumps(template))
    boto3.client("s3", region_name="eu-west-3").create_bucket(
        Bucket="artefacts-paris", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})


@pytest.fixture
def no_aws_configuration(monkeypatch, tmp_path):
    """No region, no credentials, no profile: a fresh laptop."""
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to wait for


def _line(capsys):
    printed = capsys.readouterr()
    lines = printed.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in printed.err and printed.out == "", printed
    return lines[0]


@pytest.mark.parametrize("command", [["ledger", "check"], ["models", "list"],
                                     ["erase", "--dataset", "absences", "--subject", "x"]])
def test_no_region_is_one_line_and_exit_3(no_aws_configuration, command, capsys):
    assert main(command) == 3
    assert _line(capsys).startswith("lakeguard: no AWS region is set; pass --region REGION")


def test_no_credentials_is_one_line_and_exit_3(no_aws_configuration, capsys):
    assert main(["models", "list", "--region", "eu-west-3"]) == 3
    assert _line(capsys).startswith("lakeguard: no AWS credentials found; pass --profile NAME")


def test_an_unknown_profile_is_one_line_and_exit_3(no_aws_configuration, capsys):
    assert main(["--profile", "nope", "ledger", "check", "--region", "eu-west-3"]) == 3
    assert "(nope) could not be found" in _line(capsys)


def test_a_missing_stack_is_exit_3_and_names_the_options(aws, capsys):
    assert main(["ledger", "check"]) == 3
    line = _line(capsys)
    assert "no deployed stack named lakeguard-dev-*" in line and "--region" in line


def test_region_chooses_where_the_environment_is_found(aws, paris, monkeypatch, capsys):
    # GIVEN the environment deployed in eu-west-3, and us-east-1 as the default region
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert main(["models", "list"]) == 3
    capsys.readouterr()
    # WHEN --region names eu-west-3 (before or after the sub-command)
    # THEN the registry there is read
    assert main(["models", "list", "--region", "eu-west-3", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--region", "eu-west-3", "models", "list", "--format", "json"]) == 0


def test_profile_chooses_credentials_and_region(aws, paris, no_aws_configuration, tmp_path,
                                                monkeypatch, capsys):
    (tmp_path / "no-config").write_text("[profile lake]\nregion = eu-west-3\n")
    (tmp_path / "no-credentials").write_text(
        "[lake]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    assert main(["models", "list", "--profile", "lake", "--format", "json"]) == 0, \
        capsys.readouterr().err
    assert json.loads(capsys.readouterr().out) == []


def test_log_lines_go_to_stderr_under_the_cli(aws, capsys):
    # a command that logs through Powertools while it prints its results
    import lakeguard.cli.ledger as ledger
    from lakeguard.pipeline.ingest import logger

    def entries(args):
        logger.warning("a warning from a stage")
        return []

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger, "_entries", entries)
        assert main(["ledger", "--format", "json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out) == [] and "a warning from a stage" in printed.err
    # outside the CLI (in Lambda), Powertools keeps writing to stdout
    logger.warning("in Lambda")
    assert "in Lambda" in capsys.readouterr().out


def test_query_in_athena_prints_typed_rows_and_what_it_scanned(aws, capsys):
    import boto3

    from tests.athena import athena_answers

    boto3.client("s3").create_bucket(Bucket="athena-results")
    boto3.client("athena").create_work_group(Name="analysts", Configuration={
        "ResultConfiguration": {"OutputLocation": "s3://athena-results/"},
        "EnforceWorkGroupConfiguration": True})
    athena_answers("us-east-1", [("season", "varchar"), ("n", "bigint"), ("share", "double")],
                   [["1996-97", "38", "0.125"]])
    assert main(["query", "--workgroup", "analysts", "--database", "lakeguard_dev_refined",
                 "--format", "json", "SELECT season, count(*) AS n FROM refined.anomalies"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out) == [{"season": "1996-97", "n": 38, "share": 0.125}]
    assert "-- scanned 0 B: about $0.00005 at $5 per TB" in printed.err


def test_the_scan_note_rounds_up_to_athena_minimum():
    from lakeguard.query import scan_note

    assert scan_note(2_500_000_000).startswith("scanned 2.5 GB: about $0.01250")
    assert scan_note(1234).startswith("scanned 1.2 KB: about $0.00005")
