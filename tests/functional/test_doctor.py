"""The deployment preflight: one line per check, and a fix for each failure."""

import pytest

from lakeguard.aws import client
from lakeguard.doctor import (
    BOOTSTRAP_PARAMETER,
    check_concurrency,
    concurrency_needed,
    run_checks,
)


def _checks(region="eu-west-3", concurrency=0, layer=lambda: "/cache/layer"):
    return {f.check: f for f in run_checks(None, region, concurrency=concurrency,
                                           build_layer=layer)}


def test_a_bootstrapped_account_in_a_commercial_region_is_ready(aws):
    client("ssm").put_parameter(Name=BOOTSTRAP_PARAMETER, Value="21", Type="String")
    findings = _checks()
    assert all(f.ok for f in findings.values()), [f.line() for f in findings.values()]
    assert set(findings) == {"credentials", "region", "bootstrap", "concurrency", "layer"}
    assert findings["credentials"].line().startswith("ok    credentials: arn:aws:")


def test_each_problem_is_one_line_with_its_fix(aws):
    def broken_layer():
        raise RuntimeError("pip could not reach the index\nmore detail")

    findings = _checks(region="cn-north-1", layer=broken_layer)
    lines = [f.line() for f in findings.values() if not f.ok]
    assert len(lines) == 3  # region, bootstrap, layer
    assert all(line.startswith("FAIL  ") and " -> " in line and "\n" not in line for line in lines)
    assert "aws-cn partition" in findings["region"].detail
    assert "cdk bootstrap" in findings["bootstrap"].fix
    assert "pip could not reach the index" in findings["layer"].detail


def test_no_credentials_is_reported_with_how_to_sign_in(aws, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
    from moto import settings

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    findings = _checks()
    assert not findings["credentials"].ok and "aws configure" in findings["credentials"].fix
    assert "bootstrap" not in findings  # nothing else can be read without credentials


@pytest.mark.parametrize(("quota", "reserved", "ok"), [
    (10, None, True),      # a new account, dev: nothing reserved
    (10, 50, False),       # a new account, prod: 9 x 50 + 100 unreserved does not fit
    (1000, 50, True),      # an established account's default quota
    (1000, 120, False),    # 9 x 120 + 100 > 1,000
])
def test_reserved_concurrency_must_leave_lambdas_unreserved_floor(aws, monkeypatch, quota,
                                                                   reserved, ok):
    from lakeguard.local import gaps

    monkeypatch.setitem(gaps.LAMBDA_CONCURRENCY_QUOTA, "ConcurrentExecutions", quota)
    finding = check_concurrency(None, concurrency_needed(reserved, 9))
    assert finding.ok is ok, finding.line()
    if not ok:
        assert f"allows {quota}" in finding.detail
        assert "L-B99A9384" in finding.fix and "stage_reserved_concurrency" in finding.fix
