"""Assertions on the synthesized CloudFormation: what a data engineer checks before deploying."""

import ast
import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest

from lakeguard.local.cloudformation import staged_asset
from stacks.processing import WORKSTATION_ONLY

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachines" / "pipeline.asl.json").read_text())


def _resources(template, kind):
    return template.find_resources(kind)


def _bucket_zone(props):
    """The zone a bucket serves, read from its name (lakeguard-<env>-<zone>-<acct>-<region>)."""
    parts = props.get("BucketName", {}).get("Fn::Join", ["", [""]])[1]
    match = re.match(r"lakeguard-[a-z]+-([a-z-]+)-$", parts[0])
    return match.group(1) if match else None


def _buckets(templates):
    storage = templates["LakeguardStorageStack"]
    return {_bucket_zone(r["Properties"]): r for r in _resources(storage, "AWS::S3::Bucket").values()}


def test_every_zone_has_its_bucket(dev):
    assert {"raw", "clean", "refined", "quarantine", "artefacts", "athena-results",
            "access-logs"} <= set(_buckets(dev))


@pytest.mark.parametrize("zone", ["raw", "clean", "refined"])
def test_zone_buckets_are_kms_encrypted_and_private(dev, zone):
    props = _buckets(dev)[zone]["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "Fn::GetAtt" in rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert rule["BucketKeyEnabled"] is True
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}


def test_every_bucket_denies_plain_http(dev):
    storage = dev["LakeguardStorageStack"]
    buckets = _resources(storage, "AWS::S3::Bucket")
    policies = _resources(storage, "AWS::S3::BucketPolicy").values()
    secured = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and \
                    statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false":
                secured.add(policy["Properties"]["Bucket"]["Ref"])
    assert secured == set(buckets)


def test_raw_bucket_emits_eventbridge_events_without_custom_resources(dev):
    raw = _buckets(dev)["raw"]["Properties"]
    assert raw["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    for template in dev.values():  # the one custom resource is the tables' (its own function)
        types = {r["Type"] for r in template.to_json()["Resources"].values()}
        assert {t for t in types if t.startswith("Custom::")} <= {"Custom::LakeguardTables"}


def _expirations(rules):
    return {r.get("Prefix", ""): r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r}


def test_raw_objects_expire_after_their_own_contracts_retention(dev):
    rules = _buckets(dev)["raw"]["Properties"]["LifecycleConfiguration"]["Rules"]
    # absences, absenteeism and customers keep raw personal data 90 days, matches a year;
    # keys under no contract's prefix (quarantined as unrouted) go with the longest.
    assert _expirations(rules) == {"absences/": 90, "absenteeism/": 90, "customers/": 90,
                                   "matches/": 365, "": 365}


@pytest.mark.parametrize(("fixture", "days"), [("dev", 30), ("prod", 90)])
def test_quarantined_objects_expire_after_the_quarantine_retention(request, fixture, days):
    rules = _buckets(request.getfixturevalue(fixture))["quarantine"]["Properties"][
        "LifecycleConfiguration"]["Rules"]
    assert _expirations(rules) == {"": days}


@pytest.mark.parametrize(("fixture", "policy"), [("dev", "Delete"), ("prod", "Retain")])
def test_data_buckets_removal_policy_follows_environment(request, fixture, policy):
    buckets = _resources(request.getfixturevalue(fixture)["LakeguardStorageStack"], "AWS::S3::Bucket")
    assert {b["DeletionPolicy"] for b in buckets.values()} == {policy}


def _state_machine(dev):
    machines = _resources(dev["LakeguardOrchestrationStack"], "AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    return next(iter(machines.values()))["Properties"]


def test_state_machine_is_the_asl_file_after_substitution(dev):
    props = _state_machine(dev)
    substitutions = props["DefinitionSubstitutions"]
    # Resolve each substitution to a readable placeholder, in both texts alike.
    def substitute(text):
        for name, value in substitutions.items():
            digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
            text = text.replace("${" + name + "}", f"<{name}:{digest}>")
        return text
    asl_text = (ROOT / "statemachines" / "pipeline.asl.json").read_text()
    assert json.loads(substitute(props["DefinitionString"])) == json.loads(substitute(asl_text))
    assert set(substitutions) == set(re.findall(r"\$\{(\w+)\}", asl_text))
    # every function placeholder points at the function of the same stage
    for name, value in substitutions.items():
        if name.endswith("FunctionArn"):
            assert name.removesuffix("Arn") in json.dumps(value)


def test_every_task_state_retries_and_catches():
    tasks = {n: s for n, s in ASL["States"].items() if s["Type"] == "Task"}
    assert len(tasks) >= 10
    for name, state in tasks.items():
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"
        for retry in state["Retry"]:
            assert retry["BackoffRate"] > 1 and retry.get("JitterStrategy") == "FULL", name


def _retry_window(retry):
    """Longest total wait a retrier allows before giving up, in seconds."""
    waits = [min(retry["IntervalSeconds"] * retry["BackoffRate"] ** i,
                 retry.get("MaxDelaySeconds", float("inf"))) for i in range(retry["MaxAttempts"])]
    return sum(waits)


def test_a_burst_waits_out_throttling_instead_of_failing():
    # A burst of files must queue behind reserved concurrency and Glue's concurrent-run cap,
    # not exhaust its retries and end quarantined (README: "Bursts").
    for name, state in ASL["States"].items():
        if state["Type"] != "Task":
            continue
        by_error = {e: r for r in state["Retry"] for e in r["ErrorEquals"]}
        if "FunctionArn" in str(state.get("Resource")):
            assert _retry_window(by_error["Lambda.TooManyRequestsException"]) >= 5 * 60, name
        if "glue:startJobRun" in str(state.get("Resource")):
            assert _retry_window(by_error["Glue.ConcurrentRunsExceededException"]) >= 6 * 3600, name


def test_state_machine_logs_all_and_traces(dev):
    props = _state_machine(dev)
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_iceberg_tables_come_from_the_contracts_through_one_custom_resource(dev):
    from lakeguard.tables import all_tables
    from lakeguard.tables.spec import digest

    for template in dev.values():  # no second description of the tables
        assert not _resources(template, "AWS::Glue::Table")
    # made in the processing stack, by a function with the lake's dependency layer
    processing = dev["LakeguardProcessingStack"]
    (resource,) = _resources(processing, "Custom::LakeguardTables").values()
    props = resource["Properties"]
    assert props["TablesDigest"] == digest(all_tables())
    assert props["CleanDatabase"] == "lakeguard_dev_clean"
    assert props["RefinedDatabase"] == "lakeguard_dev_refined"
    handlers = [f["Properties"]["Handler"]
                for f in _resources(processing, "AWS::Lambda::Function").values()]
    assert handlers.count("lambdas.tables.handler") == 1
    specs = {s.key: s for s in all_tables()}
    assert specs["refined/team_matches"].partition_by == ("season",)
    assert specs["refined/anomalies"].partition_by == ("dataset", "season")
    assert specs["clean/matches"].schema.names[-2:] == ["source_key_id", "run_id"]


def test_glue_jobs_run_scripts_from_glue_jobs_with_lakeguard_as_extra_files(dev):
    jobs = {j["Properties"]["Name"]: j["Properties"]
            for j in _resources(dev["LakeguardProcessingStack"], "AWS::Glue::Job").values()}
    assert set(jobs) == {"lakeguard-dev-refine", "lakeguard-dev-anonymise"}
    for props in jobs.values():
        assert props["GlueVersion"] == "5.0" and props["Command"]["Name"] == "glueetl"
        assert props["DefaultArguments"]["--extra-py-files"]
    assert "--secret_id" in jobs["lakeguard-dev-anonymise"]["DefaultArguments"]
    assert "--secret_id" not in jobs["lakeguard-dev-refine"]["DefaultArguments"]


def test_glue_jobs_get_spark_iceberg_over_the_glue_catalog_as_glue_5_provides_it(dev):
    from lakeguard.glue.iceberg import parse_conf_argument

    for job in _resources(dev["LakeguardProcessingStack"], "AWS::Glue::Job").values():
        arguments = job["Properties"]["DefaultArguments"]
        assert arguments["--datalake-formats"] == "iceberg"
        joined = arguments["--conf"]["Fn::Join"]  # the warehouse bucket's name has tokens
        conf = parse_conf_argument(joined[0].join(p if isinstance(p, str) else "<token>"
                                                  for p in joined[1]))
        assert conf["spark.sql.extensions"].endswith("IcebergSparkSessionExtensions")
        assert conf["spark.sql.catalog.glue_catalog"] == "org.apache.iceberg.spark.SparkCatalog"
        assert conf["spark.sql.catalog.glue_catalog.catalog-impl"].endswith("GlueCatalog")
        assert conf["spark.sql.catalog.glue_catalog.io-impl"].endswith("S3FileIO")
        assert conf["spark.sql.catalog.glue_catalog.warehouse"].startswith(
            "s3://lakeguard-dev-refined-")
        assert arguments["--refined_database"] == "lakeguard_dev_refined"
    asl = json.loads((Path(__file__).resolve().parents[2] / "statemachines" /
                      "pipeline.asl.json").read_text())
    assert set(asl["States"]["RefineLarge"]["Parameters"]["Arguments"]) == {
        "--dataset.$", "--inputs.$", "--run_id.$"}


def _functions(templates):
    return {**_resources(templates["LakeguardProcessingStack"], "AWS::Lambda::Function"),
            **_resources(templates["LakeguardOrchestrationStack"], "AWS::Lambda::Function")}


def test_lambda_functions_use_the_handlers_and_the_lakes_own_layer(dev):
    functions = _functions(dev)
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == sorted(f"lambdas.{n}.handler" for n in
                              ["validate", "clean", "clean_report", "quality", "refine",
                               "check_model",
                               "train", "score", "publish", "quarantine", "ingest", "tables",
                               "compact"])
    (layer_id,) = _resources(dev["LakeguardProcessingStack"], "AWS::Lambda::LayerVersion")
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.11" and "ImageUri" not in props["Code"]
        assert props["Architectures"] == ["arm64"]
        # Every function, ingest included, gets exactly the one owned layer; no managed one.
        assert len(props["Layers"]) == 1 and layer_id in json.dumps(props["Layers"])


def test_the_layer_holds_the_lock_files_packages_for_lambdas_cpu(dev):
    from stacks.layer import read_lock

    (layer,) = _resources(dev["LakeguardProcessingStack"], "AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    folder = _staged_asset(dev, layer["Properties"]["Content"]["S3Key"])
    installed = {p.name.removesuffix(".dist-info").split("-")[0].lower().replace("_", "-"):
                 p.name.removesuffix(".dist-info").split("-")[1]
                 for p in (folder / "python").glob("*.dist-info")}
    assert installed == read_lock()
    # The code calls botocore APIs newer than the runtime's own SDK: the layer carries it.
    assert "botocore" in installed
    assert list((folder / "python" / "pyarrow").glob("lib.cpython-311-aarch64-linux-gnu.so"))


def _staged_asset(synth, s3_key):
    """The directory CDK staged for an asset, found from the S3 key a template points at."""
    folder = staged_asset(synth.outdir, s3_key)
    assert folder.is_dir(), f"{s3_key} is not a staged directory asset"
    return folder


#: Files of the NAB evaluation tooling (lakeguard_eval) whose names do not say "nab".
NAB_FILES = frozenset({"benchmark.py", "crossval.py", "profiles.json", "sweep.py", "folds.py"})


def test_lambda_asset_holds_only_handlers_core_and_contracts(dev):
    keys = set()
    for template in (dev["LakeguardProcessingStack"], dev["LakeguardOrchestrationStack"]):
        for function in _resources(template, "AWS::Lambda::Function").values():
            keys.add(function["Properties"]["Code"]["S3Key"])
    assert len(keys) == 1, "every function should share the one code asset"
    asset = _staged_asset(dev, keys.pop())
    assert sorted(p.name for p in asset.iterdir()) == ["datasets", "lakeguard", "lambdas"]
    assert not (asset / "lakeguard" / "local").exists()
    assert _stale_or_missing_bytecode(asset) == []
    # workstation tooling stays out: the pytest plugin and the NAB evaluation (lakeguard_eval)
    assert not (asset / "lakeguard" / "testing.py").exists()
    assert not list(asset.rglob("lakeguard_eval"))
    assert not [p for p in asset.rglob("*") if "nab" in p.name.lower() or p.name in NAB_FILES]
    assert (asset / "lakeguard" / "ml" / "detectors").is_dir()
    assert not [path for path in WORKSTATION_ONLY if (asset / path).exists()]
    assert not _unresolved_imports(asset)


def _stale_or_missing_bytecode(asset: Path) -> list[str]:
    """Modules Lambda would compile at each cold start: no 3.11 bytecode of their very source.

    Lambda's task root is read-only, so Python cannot cache what it compiles there. The
    bytecode must be hash-based and unchecked (flags 0b01): CDK resets file dates when it
    zips the asset, which makes timestamp-checked files stale.
    """
    problems = []
    for source in asset.rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        if not pyc.is_file():
            problems.append(f"{source.relative_to(asset)}: no bytecode")
            continue
        header = pyc.read_bytes()[:16]
        if header[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(header[4:8], "little") != 1:
            problems.append(f"{source.relative_to(asset)}: not unchecked hash-based 3.11 bytecode")
        elif header[8:16] != importlib.util.source_hash(source.read_bytes()):
            problems.append(f"{source.relative_to(asset)}: bytecode of another source")
    return problems


def _unresolved_imports(asset: Path) -> list[str]:
    """``lakeguard`` modules that a packaged file imports (at any depth) but the asset lacks."""
    missing = []
    for source in asset.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and not node.level else [])
            for name in names:
                if name.split(".")[0] != "lakeguard":
                    continue
                path = asset.joinpath(*name.split("."))
                if not (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
                    missing.append(f"{source.relative_to(asset)} imports {name}")
    return missing


def test_the_import_check_sees_a_module_the_asset_lacks(tmp_path):
    (tmp_path / "lakeguard").mkdir()
    (tmp_path / "lakeguard" / "__init__.py").write_text("")
    (tmp_path / "lakeguard" / "stage.py").write_text(
        "def run():\n    from lakeguard.cli.support import PROJECT_ROOT\n")
    assert _unresolved_imports(tmp_path) == ["lakeguard/stage.py imports lakeguard.cli.support"]


def test_glue_library_asset_holds_only_core_and_contracts(dev):
    for job in _resources(dev["LakeguardProcessingStack"], "AWS::Glue::Job").values():
        extra = job["Properties"]["DefaultArguments"]["--extra-py-files"]
        key = json.dumps(extra).rsplit("/", 1)[-1].split('"')[0]
        assert key.endswith(".zip"), extra
        library = _staged_asset(dev, key)
        assert sorted(p.name for p in library.iterdir()) == ["datasets", "lakeguard"]
        assert not [p for p in library.rglob("*") if p.name in NAB_FILES]
        assert not [path for path in WORKSTATION_ONLY if (library / path).exists()]
        assert not _unresolved_imports(library)


def test_ingest_path_is_eventbridge_to_sqs_with_dlq_to_lambda(dev):
    orchestration = dev["LakeguardOrchestrationStack"]
    (rule,) = _resources(orchestration, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail-type"] == ["Object Created"]
    queues = _resources(orchestration, "AWS::SQS::Queue").values()
    assert any("RedrivePolicy" in q["Properties"] for q in queues)
    (mapping,) = _resources(orchestration, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_ingest_queues_are_encrypted_with_the_lake_key_that_eventbridge_may_use(dev):
    for queue in _resources(dev["LakeguardOrchestrationStack"], "AWS::SQS::Queue").values():
        assert "lakeguard-dev-storage:ExportsOutputFnGetAttLakeKey" in json.dumps(
            queue["Properties"]["KmsMasterKeyId"])
    (key,) = _resources(dev["LakeguardStorageStack"], "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    principals = [st["Principal"].get("Service") for st in key["Properties"]["KeyPolicy"]["Statement"]]
    assert "events.amazonaws.com" in principals


def test_every_function_has_its_own_role(dev):
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0]
             for t in dev.values() for f in _resources(t, "AWS::Lambda::Function").values()]
    assert len(roles) == len(set(roles)) == 13  # 11 pipeline functions, tables', compaction


EXPECTED_OUTPUTS = {
    "RawBucketName", "CleanBucketName", "RefinedBucketName", "QuarantineBucketName",
    "ArtefactsBucketName", "AthenaResultsBucketName", "GlueDatabaseName", "AthenaWorkgroupName",
    "CleanDatabaseName",
    "StateMachineArn", "NotificationTopicArn", "IngestQueueUrl", "IngestDeadLetterQueueUrl",
    "RefineJobName"}


def test_outputs_the_embedded_runner_finds_resources_by(dev):
    outputs = [name for t in dev.values() for name in t.to_json().get("Outputs", {})
               if not name.startswith("ExportsOutput")]
    assert set(outputs) >= EXPECTED_OUTPUTS
    assert len(outputs) == len(set(outputs)), "an output id is defined by two stacks"


def test_athena_workgroup_enforces_encrypted_results_and_a_scan_cutoff(dev, prod):
    for synth, cutoff in ((dev, 10737418240), (prod, 107374182400)):
        (workgroup,) = _resources(synth["LakeguardCatalogStack"], "AWS::Athena::WorkGroup").values()
        configuration = workgroup["Properties"]["WorkGroupConfiguration"]
        assert configuration["EnforceWorkGroupConfiguration"] is True
        assert configuration["BytesScannedCutoffPerQuery"] == cutoff
        encryption = configuration["ResultConfiguration"]["EncryptionConfiguration"]
        assert encryption["EncryptionOption"] == "SSE_KMS"


@pytest.mark.parametrize("stack", ["LakeguardStorageStack", "LakeguardProcessingStack",
                                   "LakeguardOrchestrationStack"])
def test_resources_carry_the_project_tags(prod, stack):
    tagged = [r for r in prod[stack].to_json()["Resources"].values()
              if r["Type"] in {"AWS::S3::Bucket", "AWS::Lambda::Function", "AWS::SQS::Queue",
                               "AWS::KMS::Key", "AWS::StepFunctions::StateMachine"}]
    assert tagged
    for resource in tagged:
        tags = resource["Properties"]["Tags"]
        pairs = {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else tags
        assert pairs["project"] == "lakeguard" and pairs["environment"] == "prod"
        assert pairs["data-classification"]


def test_prod_retains_the_key_and_log_groups(prod):
    kinds = ("AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::S3::Bucket")
    for template in prod.values():
        for kind in kinds:
            for resource in _resources(template, kind).values():
                assert resource["DeletionPolicy"] == "Retain", kind


def test_every_log_group_is_kms_encrypted_with_retention(dev):
    groups = [g for t in dev.values() for g in _resources(t, "AWS::Logs::LogGroup").values()]
    assert len(groups) >= 12  # 10 stages, ingest, the state machine
    for group in groups:
        assert "KmsKeyId" in group["Properties"] and group["Properties"]["RetentionInDays"] == 30


@pytest.mark.parametrize(("fixture", "limit"), [("dev", None), ("prod", 50)])
def test_stage_concurrency_is_reserved_only_where_the_environment_asks(request, fixture, limit):
    templates = request.getfixturevalue(fixture)
    stages = [f for f in _resources(templates["LakeguardProcessingStack"],
                                    "AWS::Lambda::Function").values()
              if f["Properties"]["Handler"] not in ("lambdas.tables.handler",
                                                    "lambdas.compact.handler")]
    assert len(stages) == 10
    assert {f["Properties"].get("ReservedConcurrentExecutions") for f in stages} == {limit}
    # Compaction runs once per schedule tick: it takes none of the account's quota.
    (compact,) = [f for f in _resources(templates["LakeguardProcessingStack"],
                                        "AWS::Lambda::Function").values()
                  if f["Properties"]["Handler"] == "lambdas.compact.handler"]
    assert "ReservedConcurrentExecutions" not in compact["Properties"]
    # Ingest reserves nothing: its SQS event source caps it at five concurrent calls.
    (ingest,) = _resources(templates["LakeguardOrchestrationStack"],
                           "AWS::Lambda::Function").values()
    assert "ReservedConcurrentExecutions" not in ingest["Properties"]
    (mapping,) = _resources(templates["LakeguardOrchestrationStack"],
                            "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_glue_job_logs_go_to_managed_groups_with_the_lakes_retention(dev):
    processing = dev["LakeguardProcessingStack"]
    groups = {g["Properties"].get("LogGroupName"): g["Properties"]
              for g in _resources(processing, "AWS::Logs::LogGroup").values()}
    for job in _resources(processing, "AWS::Glue::Job").values():
        prefix = job["Properties"]["DefaultArguments"]["--custom-logGroup-prefix"]
        for stream in ("output", "error"):
            group = groups[f"{prefix}/{stream}"]
            assert group["RetentionInDays"] == 30 and "KmsKeyId" in group


def test_glue_jobs_pin_what_they_import_to_the_lock_files_versions(dev):
    from stacks.layer import read_lock

    pins = read_lock()
    for job in _resources(dev["LakeguardProcessingStack"], "AWS::Glue::Job").values():
        modules = job["Properties"]["DefaultArguments"]["--additional-python-modules"]
        assert dict(m.split("==") for m in modules.split(",")) == {
            "pyarrow": pins["pyarrow"], "numpy": pins["numpy"],
            "phonenumberslite": pins["phonenumberslite"]}


def test_alarms_can_publish_to_the_alarm_topic_from_this_account_only(dev):
    (policy,) = _resources(dev["LakeguardMonitoringStack"], "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (alarms,) = [s for s in statements
                 if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert alarms["Effect"] == "Allow" and alarms["Action"] == "sns:Publish"
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":cloudwatch:" in json.dumps(alarms["Condition"]["ArnLike"]["aws:SourceArn"])
    # Every alarm notifies that topic.
    topic = alarms["Resource"]
    for alarm in _resources(dev["LakeguardMonitoringStack"], "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [topic]


def test_every_service_grant_on_the_key_and_the_topics_is_scoped_to_this_account(dev):
    documents = [r["Properties"]["KeyPolicy"] for t in dev.values()
                 for r in _resources(t, "AWS::KMS::Key").values()]
    documents += [r["Properties"]["PolicyDocument"] for t in dev.values()
                  for r in _resources(t, "AWS::SNS::TopicPolicy").values()]
    services = [s for d in documents for s in d["Statement"]
                if "Service" in s.get("Principal", {}) and s["Effect"] == "Allow"]
    assert len(services) >= 5  # logs, cloudwatch+events, events (queue, topic), alarms topic
    for statement in services:
        condition = json.dumps(statement.get("Condition", {}))
        assert "aws:SourceAccount" in condition or "kms:EncryptionContext" in condition, statement


def test_every_stack_refuses_a_partition_other_than_the_commercial_one(dev):
    for template in dev.values():
        rule = template.to_json()["Rules"]["CommercialPartitionOnly"]
        assert rule["Assertions"][0]["Assert"] == {
            "Fn::Equals": [{"Ref": "AWS::Partition"}, "aws"]}


def test_glue_jobs_encrypt_logs_bookmarks_and_s3_writes_with_kms(dev):
    processing = dev["LakeguardProcessingStack"]
    (config,) = _resources(processing, "AWS::Glue::SecurityConfiguration").values()
    encryption = config["Properties"]["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"
    for job in _resources(processing, "AWS::Glue::Job").values():
        assert job["Properties"]["SecurityConfiguration"] == {"Ref": next(
            k for k, r in processing.to_json()["Resources"].items()
            if r["Type"] == "AWS::Glue::SecurityConfiguration")}


def test_alarms_cover_failures_timeouts_dlq_errors_and_throttles(dev):
    monitoring = dev["LakeguardMonitoringStack"]
    alarms = _resources(monitoring, "AWS::CloudWatch::Alarm").values()
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms}
    assert {("AWS/States", "ExecutionsFailed"), ("AWS/States", "ExecutionsTimedOut"),
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible"), ("AWS/Lambda", "Errors"),
            ("AWS/Lambda", "Throttles"), ("lakeguard", "ObjectsQuarantined")} <= metrics
    # The tables function runs only inside a deploy, whose failure it fails: no alarm.
    functions = sum(1 for f in _functions(dev).values()
                    if f["Properties"]["Handler"] != "lambdas.tables.handler")
    lambda_alarms = [a for a in alarms if a["Properties"]["Namespace"] == "AWS/Lambda"]
    # errors and throttles of each pipeline function and of the compaction
    assert len(lambda_alarms) == 2 * functions == 24
    (topic,) = _resources(monitoring, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": next(iter(
            _resources(monitoring, "AWS::SNS::Topic")))}]


def test_glue_failures_reach_the_alarm_topic_and_a_dashboard_exists(dev):
    monitoring = dev["LakeguardMonitoringStack"]
    (rule,) = _resources(monitoring, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail"]["state"] == ["FAILED", "TIMEOUT", "ERROR"]
    assert len(rule["Properties"]["EventPattern"]["detail"]["jobName"]) == 2
    assert len(_resources(monitoring, "AWS::CloudWatch::Dashboard")) == 1


def test_each_function_fits_lambdas_unzipped_limit_with_its_layer(dev, capsys):
    from stacks.layer import UNZIPPED_LIMIT_BYTES, folder_size

    layers = {lid: folder_size(_staged_asset(dev, r["Properties"]["Content"]["S3Key"]))
              for t in dev.values() for lid, r in _resources(t, "AWS::Lambda::LayerVersion").items()}
    for name, function in _functions(dev).items():
        code = folder_size(_staged_asset(dev, function["Properties"]["Code"]["S3Key"]))
        layer = sum(size for lid, size in layers.items() if lid in json.dumps(function["Properties"]))
        total = code + layer
        with capsys.disabled():
            print(f"\n  {name}: code {code / 2**20:.1f} MiB + layer {layer / 2**20:.1f} MiB "
                  f"= {total / 2**20:.1f} MiB of {UNZIPPED_LIMIT_BYTES / 2**20:.0f}", end="")
        assert layer > 50 * 2**20, "the layer should hold pyarrow and numpy"
        assert total < UNZIPPED_LIMIT_BYTES


def test_the_lock_pins_what_the_tests_run_with():
    """The layer's packages are the versions installed here: what Lambda imports was tested."""
    from importlib.metadata import PackageNotFoundError, version

    from stacks.layer import read_lock

    pins = read_lock()
    assert {"pyarrow", "numpy", "aws-lambda-powertools"} <= set(pins)
    for name, pinned in pins.items():
        try:
            assert version(name) == pinned, name
        except PackageNotFoundError:
            pytest.fail(f"{name}=={pinned} is in the layer's lock but not installed for the tests")


def test_the_ledger_finds_published_copies_by_digest_and_the_gate_may_query_it(dev):
    ledger = next(iter(_resources(dev["LakeguardStorageStack"], "AWS::DynamoDB::Table").values()))
    indexes = {i["IndexName"]: i for i in ledger["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes["digest"]["KeySchema"] == [{"AttributeName": "digest", "KeyType": "HASH"}]
    policies = _resources(dev["LakeguardProcessingStack"], "AWS::IAM::ManagedPolicy")
    quality = [s for p in policies.values() if "Quality" in json.dumps(p["Properties"].get(
        "Roles", [])) for s in p["Properties"]["PolicyDocument"]["Statement"]]
    reads = next(s for s in quality if s.get("Sid") == "ReadTheLedger")
    assert reads["Action"] == "dynamodb:Query"
    assert any("/index/digest" in json.dumps(r) for r in reads["Resource"])
