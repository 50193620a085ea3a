import pytest


@pytest.fixture
def aws(monkeypatch):
    """moto's in-process AWS with fake credentials, whatever an embedded lake left set."""
    from moto import mock_aws, settings

    from lakeguard.local import gaps

    gaps.answer_lambda_account_settings()  # before the mock routes its URLs

    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # An embedded lake in this session enforces IAM process-wide; these tests do not.
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    with mock_aws():
        yield
