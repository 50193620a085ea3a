"""IAM on the embedded AWS: every caller has an identity, and each role only its own policy.

Once :func:`enforce` runs, moto checks every request against the caller's IAM policies.
The lake's operator (the CLI, the tests, the deployment itself) acts as an administrator
user; each Lambda function, Glue job and the state machine act with credentials of their
own role, minted the way the services get them (AssumeRole by the service, which no
caller's policy governs). A permission a stage needs and its role lacks then fails here
as ``AccessDenied``, as it would in AWS. What moto cannot evaluate is bridged, and said,
in :mod:`lakeguard.local.gaps`.
"""

from __future__ import annotations

import json
import threading

from lakeguard.local.cloudformation import ACCOUNT, REGION

ADMIN_USER = "lakeguard-local-operator"
#: Credentials last 12 hours, longer than any local run.
_DURATION_S = 43_200
_lock = threading.Lock()
_minted: dict[tuple[str, str], dict[str, str]] = {}


def operator_credentials() -> dict[str, str]:
    """An administrator user's access key: who deploys and drives the embedded lake."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT]["aws"]
    try:
        backend.get_user(ADMIN_USER)
    except Exception:  # moto raises its own NoSuchEntity: the user is new
        backend.create_user(REGION, ADMIN_USER)
        backend.put_user_policy(ADMIN_USER, "operator", json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = backend.create_access_key(ADMIN_USER)
    return {"AWS_ACCESS_KEY_ID": key.access_key_id,
            "AWS_SECRET_ACCESS_KEY": key.secret_access_key}


def role_credentials(role_arn: str, session: str = "lakeguard-local") -> dict[str, str]:
    """Temporary credentials of ``role_arn``, as the service that assumes it receives them."""
    from moto.sts.models import sts_backends

    with _lock:
        if (role_arn, session) not in _minted:
            assumed = sts_backends[ACCOUNT]["aws"].assume_role(
                region_name=REGION, role_session_name=session, role_arn=role_arn,
                policy="", duration=_DURATION_S, external_id="")
            _minted[(role_arn, session)] = {
                "AWS_ACCESS_KEY_ID": assumed.access_key_id,
                "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
                "AWS_SESSION_TOKEN": assumed.session_token}
        return dict(_minted[(role_arn, session)])


def enforce(enabled: bool = True) -> None:
    """Check every request to the embedded AWS against the caller's policies from now on."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if enabled else float("inf")
    ActionAuthenticatorMixin.request_count = 0
    if not enabled:
        with _lock:
            _minted.clear()
