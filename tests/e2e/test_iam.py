"""IAM is enforced per function offline, from template.yaml: a permission the product needs, removed from the
template, breaks the signing it serves (the rest of the suite shows the template as written refuses nothing)."""

from __future__ import annotations

import copy
import time

import pytest

from local.template import load_template
from tests.e2e.conftest import Offline, denials, e2e_stack

pytestmark = pytest.mark.e2e
WORKER = "PackageWorkerFunction"


def without_statement(function: str, action: str) -> list:
    """The function's Policies from template.yaml, less the one inline statement that grants `action`."""
    policies = copy.deepcopy(
        load_template("template.yaml").document["Resources"][function]["Properties"]["Policies"]
    )
    removed = 0
    for policy in policies:
        statements = policy.get("Statement", []) if isinstance(policy, dict) else []
        kept = [s for s in statements if action not in s.get("Action", [])]
        removed += len(statements) - len(kept)
        if "Statement" in policy:
            policy["Statement"] = kept
    assert removed == 1, f"template.yaml grants {function} {action} in {removed} statements, not one"
    return [policy for policy in policies if not isinstance(policy, dict) or policy.get("Statement", True)]


def test_without_its_prefix_limited_list_bucket_the_worker_never_stores_the_signed_pdf(tmp_path_factory):
    stack = e2e_stack(
        tmp_path_factory, overrides={WORKER: {"Policies": without_statement(WORKER, "s3:ListBucket")}}
    )
    with stack:
        offline = Offline(stack)
        signing = offline.start_signing()
        offline.act(signing["sessions"][0]["sessionId"])
        deadline = time.monotonic() + 30
        while not (refused := [line for line in denials(stack) if "PackageWorkerFunction" in line]):
            assert time.monotonic() < deadline, "the worker was never refused"
            time.sleep(0.2)
        state = offline.get(signing["signingId"])["state"]

    assert state in ("AWAITING_SIGNATURE", "SIGNED")
    assert f"s3:ListBucket on arn:aws:s3:::{stack.info['documentsBucket']}" in refused[0]
    assert refused[0].startswith(
        f"arn:aws:sts::123456789012:assumed-role/{stack.prefix}-PackageWorkerFunctionRole/"
    )
