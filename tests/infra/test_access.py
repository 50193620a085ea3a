"""Who may touch what, read from the synthesized IAM: roles, their one policy, its resources."""

import json

import aws_cdk as cdk
import pytest

from lakeguard.contracts import list_contracts, load_contract

_PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId"}


def _text(value):
    """A CloudFormation value as one string, pseudo parameters as ``<AWS::...>``."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(_text(part) for part in value["Fn::Join"][1])
    if "Ref" in value:
        return f"<{value['Ref']}>" if value["Ref"] in _PSEUDO else f"<Ref {value['Ref']}>"
    return f"<{json.dumps(value, sort_keys=True)}>"


def _listed(value):
    return value if isinstance(value, list) else [value]


def _principals(template):
    """Role logical id -> what runs as it: ``lambdas.<stage>``, ``job:<name>``, ``pipeline``."""
    owners = {}
    for function in template.find_resources("AWS::Lambda::Function").values():
        props = function["Properties"]
        owners[props["Role"]["Fn::GetAtt"][0]] = props["Handler"].removesuffix(".handler")
    for job in template.find_resources("AWS::Glue::Job").values():
        props = job["Properties"]
        owners[props["Role"]["Fn::GetAtt"][0]] = f"job:{props['Name'].rsplit('-', 1)[-1]}"
    for machine in template.find_resources("AWS::StepFunctions::StateMachine").values():
        owners[machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]] = "pipeline"
    for schedule in template.find_resources("AWS::Scheduler::Schedule").values():
        purpose = schedule["Properties"]["Name"].split("-")[2]  # <prefix>-retrain-<dataset>
        owners[schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]] = f"scheduler:{purpose}"
    return owners


def _statements(synth):
    """(owner, actions, resources as text, conditions) for every statement of every role."""
    found = []
    for template in synth.values():
        owners = _principals(template)
        for policy in template.find_resources("AWS::IAM::ManagedPolicy").values():
            for role in policy["Properties"].get("Roles", []):
                owner = owners[role["Ref"]]
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    assert statement["Effect"] == "Allow"
                    found.append((owner, set(_listed(statement["Action"])),
                                  [_text(r) for r in _listed(statement["Resource"])],
                                  statement.get("Condition")))
    return found


def _who(synth, action, resource_part):
    return {owner for owner, actions, resources, _ in _statements(synth)
            if action in actions and any(resource_part in r for r in resources)}


def test_every_role_holds_exactly_one_customer_managed_policy_and_nothing_inline(dev):
    for template in dev.values():
        assert not template.find_resources("AWS::IAM::Policy"), "inline policies crept back"
        roles = template.find_resources("AWS::IAM::Role")
        for logical, role in roles.items():
            assert "ManagedPolicyArns" not in role["Properties"], f"{logical}: AWS-managed policy"
            attached = [p for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
                        if {"Ref": logical} in p["Properties"].get("Roles", [])]
            assert len(attached) == 1, logical
    owners = [o for t in dev.values() for o in _principals(t).values()]
    # 13 functions, 2 jobs, the pipeline, the retrain and compaction schedulers
    assert len(owners) == len(set(owners)) == 18


def test_no_action_wildcards_and_resource_wildcards_only_where_iam_has_no_resources(dev):
    for owner, actions, resources, _ in _statements(dev):
        assert not any("*" in a for a in actions), owner
        if "*" in resources:
            assert resources == ["*"]
            assert actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                "cloudwatch:PutMetricData", "logs:CreateLogDelivery",
                                "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                                "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
                                "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                                "logs:DescribeLogGroups"}, (owner, actions)


def test_only_the_ingest_side_and_the_anonymisers_read_raw(dev):
    raw = "lakeguard-dev-raw-"
    assert _who(dev, "s3:GetObject", raw) == {
        "lambdas.validate", "lambdas.quarantine", "lambdas.clean", "job:anonymise"}
    assert _who(dev, "s3:ListBucket", raw) == {"job:anonymise"}


def test_the_anonymisers_read_raw_only_under_the_contracts_prefixes(dev):
    prefixes = {load_contract(n).raw.prefix for n in list_contracts()}
    for owner in ("lambdas.clean", "job:anonymise"):
        raw = {r for o, actions, resources, _ in _statements(dev) if o == owner
               and "s3:GetObject" in actions for r in resources if "-raw-" in r}
        assert raw == {f"arn:<AWS::Partition>:s3:::lakeguard-dev-raw-<AWS::AccountId>-"
                       f"<AWS::Region>/{p}*" for p in prefixes}, owner


def test_only_the_anonymisers_may_read_the_pseudonym_secret(dev):
    assert _who(dev, "secretsmanager:GetSecretValue", "PseudonymKey") == {
        "lambdas.clean", "job:anonymise"}
    assert _who(dev, "kms:Decrypt", "PseudonymKeyEncryption") == {"lambdas.clean",
                                                                   "job:anonymise"}
    for template in dev.values():
        assert '"SecretString"' not in json.dumps(template.to_json())  # generated, never inline


def test_stages_after_the_anonymiser_see_no_raw_and_write_only_their_folders(dev):
    writes = {}
    for owner, actions, resources, _ in _statements(dev):
        if "s3:PutObject" in actions:
            writes.setdefault(owner, set()).update(r.rsplit("<AWS::Region>", 1)[-1]
                                                   for r in resources)
    assert writes["lambdas.clean"] == {"/_staging/*"}
    assert writes["lambdas.score"] == {"/_staging/*"}
    clean = {f"/{n}/*" for n in list_contracts()}
    # rewrites the run's rows, duplicates out: staged, or on the clean table's branch
    assert writes["lambdas.quality"] == {"/_staging/*"} | clean
    assert writes["lambdas.train"] == {"/models/*"}
    # the refine job writes Iceberg itself: the refined tables' folders, not the anomalies
    refined = {f"/{t.table}/*" for n in list_contracts() for t in load_contract(n).refined}
    assert writes["job:refine"] == refined
    assert writes["job:anonymise"] == {"/_staging/*"} | clean
    assert "/audit/*" in writes["lambdas.publish"]
    assert not {"lambdas.validate", "lambdas.clean_report",
                "lambdas.check_model", "lambdas.ingest"} & set(writes)


def test_each_glue_job_commits_to_the_tables_of_its_own_zone_only(dev):
    refined, clean = "table/lakeguard_dev_refined/", "table/lakeguard_dev_clean/"
    assert "job:refine" in _who(dev, "glue:UpdateTable", refined)
    assert "job:refine" not in _who(dev, "glue:UpdateTable", clean)
    assert "job:anonymise" in _who(dev, "glue:UpdateTable", clean)
    assert "job:anonymise" not in _who(dev, "glue:UpdateTable", refined)


def test_state_machine_may_invoke_exactly_its_stage_functions(dev):
    (machine,) = dev["LakeguardOrchestrationStack"].find_resources(
        "AWS::StepFunctions::StateMachine").values()
    functions = {_text(v) for k, v in machine["Properties"]["DefinitionSubstitutions"].items()
                 if k.endswith("FunctionArn")}
    invoked = {r for owner, actions, resources, _ in _statements(dev)
               if "lambda:InvokeFunction" in actions for r in resources}
    pipeline = {r for owner, actions, resources, _ in _statements(dev)
                if owner == "pipeline" and "lambda:InvokeFunction" in actions for r in resources}
    assert pipeline == functions and len(functions) == 10
    assert invoked == functions | {'<{"Fn::GetAtt": ["CompactFunctionFE066253", "Arn"]}>'}
    assert _who(dev, "lambda:InvokeFunction", "") == {"pipeline", "scheduler:compaction"}


def test_analyst_policy_reaches_refined_tables_through_athena_and_nothing_else(dev):
    catalog = dev["LakeguardCatalogStack"]
    (policy,) = [p for p in catalog.find_resources("AWS::IAM::ManagedPolicy").values()
                 if p["Properties"].get("ManagedPolicyName") == "lakeguard-dev-analyst"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    resources = [_text(r) for s in statements for r in _listed(s["Resource"])]
    objects = [r for r in resources if r.startswith("arn:<AWS::Partition>:s3:::") and "/" in r]
    assert objects and all("-refined-" in r or "-athena-results-" in r for r in objects)
    assert not any("_staging" in r for r in resources)
    for zone in ("raw", "clean", "quarantine", "artefacts"):
        assert not any(f"lakeguard-dev-{zone}-" in r for r in resources), zone
    actions = {a for s in statements for a in _listed(s["Action"])}
    assert "athena:StartQueryExecution" in actions and not any("*" in a for a in actions)


def _acknowledgements(app):
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                for rule, reason in entry.data.items():
                    yield construct.node.path, rule.split("::", 1)[-1], reason


def test_every_acknowledgement_names_one_rule_on_one_construct_with_a_reason(dev):
    found = list(_acknowledgements(dev.app))
    assert found
    for path, rule, reason in found:
        assert path.startswith("Lakeguard"), path  # never the whole app
        assert "/" in path, f"{rule} acknowledged on a whole stack ({path})"
        assert rule.startswith(("AwsSolutions-", "HIPAA.Security-")), rule
        assert len(reason) >= 40, f"{path} {rule}: reason too thin: {reason!r}"
    wildcards = [rule for _, rule, _ in found if rule.startswith("AwsSolutions-IAM5[")]
    assert wildcards and all("[Resource::" in r for r in wildcards)


def test_reviewers_find_each_acknowledgement_in_the_template_next_to_its_resource(dev):
    (secret,) = dev["LakeguardProcessingStack"].find_resources(
        "AWS::SecretsManager::Secret").values()
    rules = {r["id"]: r["reason"] for r in secret["Metadata"]["cdk_nag"]["rules_to_suppress"]}
    assert set(rules) == {"AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled"}
    assert all("re-pseudonymisation" in reason for reason in rules.values())


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_the_nag_packs_ran_and_found_nothing_unacknowledged(request, fixture):
    synth = request.getfixturevalue(fixture)
    report = synth.outdir / "validation-report.json"  # written only when plugins ran
    assert json.loads(report.read_text())["pluginReports"] == []


def test_the_nag_packs_fail_synth_on_an_unacknowledged_finding(tmp_path):
    """The same app plus one plain bucket: synth must fail, naming only that bucket."""
    from aws_cdk import aws_s3 as s3

    from app import build_app
    from stacks.settings import file_context

    app = build_app(cdk.App(context={**file_context(), "env": "dev"}, outdir=str(tmp_path)))
    s3.Bucket(cdk.Stack(app, "Canary"), "Plain")
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    packs = {p["pluginName"] for p in report["pluginReports"]}
    assert packs == {"AwsSolutions", "HIPAA.Security"}
    paths = {c["constructPath"] for p in report["pluginReports"] for v in p["violations"]
             for c in v["violatingConstructs"]}
    assert paths == {"Canary/Plain/Resource"}


@pytest.mark.parametrize("actions, resources, reason, message", [
    (["s3:Get*"], ["arn:aws:s3:::b/k"], None, "name each action"),
    (["s3:GetObject"], ["arn:<AWS::Partition>:s3:::b/*"], None, "wildcard_reason"),
    (["s3:GetObject"], [f"{cdk.Aws.ACCOUNT_ID}/*"], "because", "mixes a token"),
])
def test_a_wildcard_cannot_be_written_without_its_reason(actions, resources, reason, message):
    from stacks.policies import ScopedPolicy, WildcardError

    policy = ScopedPolicy(cdk.Stack(cdk.App(), "S"), "P", description="test")
    with pytest.raises(WildcardError, match=message):
        policy.allow("Sid", actions, resources, wildcard_reason=reason)


def test_a_justified_wildcard_is_acknowledged_on_its_policy_with_the_reason():
    from stacks.policies import ScopedPolicy

    policy = ScopedPolicy(cdk.Stack(cdk.App(), "S"), "P", description="test")
    policy.allow("Sid", ["s3:GetObject"], ["arn:<AWS::Partition>:s3:::b/run/*"],
                 wildcard_reason="run ids are made at run time")
    acknowledged = [e.data for e in policy.policy.node.metadata
                    if e.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY]
    assert any(data.get(k) == "run ids are made at run time" for data in acknowledged
               for k in data if k.endswith("AwsSolutions-IAM5[Resource::arn:<AWS::Partition>"
                                            ":s3:::b/run/*]"))


def test_a_nightly_schedule_compacts_the_tables_and_may_only_invoke_that_function(dev):
    template = dev["LakeguardProcessingStack"]
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(30 2 * * ? *)"  # cdk.json's compaction_schedule
    (function,) = [logical for logical, f in template.find_resources("AWS::Lambda::Function")
                   .items() if f["Properties"]["Handler"] == "lambdas.compact.handler"]
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    allowed = [(actions, resources) for owner, actions, resources, _ in _statements(dev)
               if owner == "scheduler:compaction"]
    assert allowed == [({"lambda:InvokeFunction"}, [_text({"Fn::GetAtt": [function, "Arn"]})])]
    # The compaction's role commits to the tables and writes their folders, nothing else.
    zones = {r.split(":::")[1].split("-")[2] for owner, actions, resources, _ in _statements(dev)
             if owner == "lambdas.compact" and "s3:PutObject" in actions for r in resources}
    assert zones == {"clean", "refined"}
    assert not _who(dev, "s3:GetObject", "-raw-") & {"lambdas.compact"}


def test_each_modelled_dataset_has_a_retrain_schedule_that_only_starts_the_pipeline(dev):
    template = dev["LakeguardOrchestrationStack"]
    schedules = template.find_resources("AWS::Scheduler::Schedule")
    inputs = {json.loads(s["Properties"]["Target"]["Input"])["dataset"]: s["Properties"]
              for s in schedules.values()}
    modelled = {n for n in list_contracts() if load_contract(n).model is not None}
    assert set(inputs) == modelled and modelled
    for props in inputs.values():
        assert props["ScheduleExpression"].startswith("cron(")
        assert props["Target"]["Arn"] == {"Ref": next(iter(
            template.find_resources("AWS::StepFunctions::StateMachine")))}
    allowed = [(actions, resources) for owner, actions, resources, _ in _statements(dev)
               if owner == "scheduler:retrain"]
    assert len(allowed) == 1 and allowed[0][0] == {"states:StartExecution"}
    assert len(allowed[0][1]) == 1 and "Pipeline" in allowed[0][1][0]
