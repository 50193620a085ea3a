"""The tables custom resource: CloudFormation asks, :func:`ensure_tables` answers.

CloudFormation sends Create, Update or Delete with the resource's properties and waits for
a response PUT to the pre-signed ``ResponseURL``. Create and Update create missing tables
and evolve existing ones to the contracts; Delete leaves the tables and their data (as the
buckets are kept in prod). A failure is reported with its reason, so the deploy stops there.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from lakeguard.tables.ensure import ensure_tables
from lakeguard.tables.spec import Names, all_tables


def names_from(properties: dict[str, Any]) -> Names:
    """The databases and buckets the resource's properties name."""
    return Names(clean_database=properties["CleanDatabase"],
                 refined_database=properties["RefinedDatabase"],
                 clean_bucket=properties["CleanBucket"], refined_bucket=properties["RefinedBucket"])


def on_event(event: dict[str, Any]) -> dict[str, Any]:
    """Do what the request asks; return the response's ``Data``."""
    if event["RequestType"] == "Delete":
        return {}
    done = ensure_tables(all_tables(), names_from(event["ResourceProperties"]))
    return {"Changed": ", ".join(f"{k}: {' '.join(v)}" for k, v in done.items() if v) or "none"}


def respond(event: dict[str, Any], status: str, data: dict[str, Any], reason: str = "") -> None:
    """PUT the response CloudFormation waits for."""
    names = names_from(event["ResourceProperties"])
    body = json.dumps({
        "Status": status, "Reason": reason[:900] or status,
        "PhysicalResourceId": f"{names.clean_database}+{names.refined_database}",
        "StackId": event["StackId"], "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"], "Data": data,
    }).encode("utf-8")
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=30):
        pass


def handler(event: dict[str, Any], context: Any) -> None:
    """Lambda entry point of the custom resource: always answer, success or failure."""
    try:
        data = on_event(event)
    except Exception as err:  # reported to CloudFormation, which fails the deploy with it
        respond(event, "FAILED", {}, f"{type(err).__name__}: {err}")
        raise
    respond(event, "SUCCESS", data)
