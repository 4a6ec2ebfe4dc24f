"""Every sample event in events/ through the running stack: by the stack's own invoke(), by `make invoke` as a
person runs it, and the env-vars file `sam local` takes, read by SAM CLI's own code."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.rie import REPO
from tests.e2e.conftest import EVENTS, Offline, e2e_stack, running, sample_event

# Which function each sample event is for, by the start of its name.
FUNCTIONS = {
    "api_": "ApiFunction",
    "intake_": "IntakeFunction",
    "package_worker_": "PackageWorkerFunction",
    "reconciler_": "ReconcilerFunction",
    "webhook_": "WebhookFunction",
    "verifier_": "VerifierFunction",
}


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    """`make up`'s own prefix: the intake sample event names the documents bucket that `make up` makes."""
    with running(e2e_stack(tmp_path_factory, prefix="local")) as started:
        yield started


def test_sample_get_signing_answers_404_problem_for_its_unknown_id(offline):
    answer = offline.stack.invoke("ApiFunction", sample_event("api_get_signing"))

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["code"] == "NOT_FOUND"


def test_sample_start_signing_starts_one_signing_at_the_emulator_once_per_idempotency_key(offline):
    event = sample_event("api_start_signing")

    first = offline.stack.invoke("ApiFunction", event)
    again = offline.stack.invoke("ApiFunction", event)

    assert first["statusCode"] == 201
    created = json.loads(first["body"])
    assert created["externalReference"] == "rental-2026-0042"
    assert created["sessions"][0]["signatureUrl"].startswith(offline.emulator_url)
    assert json.loads(again["body"])["signingId"] == created["signingId"]
    assert offline.get(created["signingId"])["state"] == "AWAITING_SIGNATURE"


def test_sample_signed_object_that_is_not_there_is_skipped_and_nothing_is_recorded(offline):
    answer = offline.stack.invoke("VerifierFunction", sample_event("verifier_s3_object_created"))

    assert answer == {"verified": []}


def test_sample_webhook_deliveries_carrying_another_secret_are_refused(offline):
    for name in (
        "webhook_package_completed",
        "webhook_package_failed",
        "webhook_collection_package_completed",
        "webhook_package_completed_hmac",
    ):
        answer = offline.stack.invoke("WebhookFunction", sample_event(name))
        assert answer["statusCode"] == 401, name


def test_sample_queue_message_for_an_unknown_session_is_left_for_a_retry(offline):
    event = sample_event("package_worker_sqs")

    answer = offline.stack.invoke("PackageWorkerFunction", event)

    message_id = event["Records"][0]["messageId"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": message_id}]}


def make_invoke(offline: Offline, function: str, event: Path) -> subprocess.CompletedProcess:
    stack_json = Path(offline.info["envVars"]).with_name("stack.json")
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "invoke",
            f"FUNCTION={function}",
            f"EVENT={event}",
            f"STACK={stack_json}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_invoke_runs_every_sample_event_on_the_running_stack_and_prints_the_answer(offline):
    answers = {}
    for event in sorted(EVENTS.glob("*.json")):
        (function,) = [name for prefix, name in FUNCTIONS.items() if event.name.startswith(prefix)]
        finished = make_invoke(offline, function, event.relative_to(REPO))
        assert finished.returncode == 0, finished.stdout + finished.stderr
        answers[event.stem] = json.loads(finished.stdout)

    status = {name: answer.get("statusCode") for name, answer in answers.items()}
    assert status["api_get_signing"] == status["api_cancel_signing"] == 404  # no such signing
    assert status["api_start_signing"] == status["api_create_upload"] == 201
    assert status["webhook_package_completed"] == status["webhook_package_failed"] == 401  # another secret
    assert answers["intake_s3_object_created"]["receipts"][0]["state"] == "FAILED"  # nothing was dropped
    assert answers["package_worker_sqs"]["batchItemFailures"]  # an unknown session: tried again later
    counts = answers["reconciler_scheduled"]  # how many signings it checked, and what it did with them
    assert {"checked", "queued", "expired"} <= set(counts) and all(
        isinstance(n, int) for n in counts.values()
    )
    assert len(answers) == len(list(EVENTS.glob("*.json")))


def test_make_invoke_says_what_went_wrong_for_an_unknown_function_and_exits_non_zero(offline):
    finished = make_invoke(offline, "NoSuchFunction", Path("events/api_get_signing.json"))

    assert finished.returncode != 0
    assert "Function not found: NoSuchFunction" in finished.stderr


def test_the_env_vars_file_gives_sam_local_every_variable_the_offline_stack_gives_a_function(offline):
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
    from samcli.local.lambdafn.env_vars import EnvironmentVariables

    overrides = json.loads(Path(offline.info["envVars"]).read_text())
    stacks, _ = SamLocalStackProvider.get_stacks(str(REPO / "template.yaml"))
    provider = SamFunctionProvider(stacks)

    assert set(overrides) == set(offline.stack.functions)
    for name, runner in offline.stack.functions.items():
        function = provider.get(name)
        resolved = EnvironmentVariables(
            function.name,
            function.memory,
            function.timeout,
            function.handler,
            variables=function.environment["Variables"],
            override_values=overrides[name],
        ).resolve()
        # sam local sets only variables the template declares: each of the stack's must be one of them.
        assert {key: resolved.get(key) for key in runner.spec.environment} == dict(runner.spec.environment), (
            name
        )
        assert resolved["AWS_ENDPOINT_URL"] == offline.info["awsEndpointUrl"]
        assert resolved["TABLE_NAME"] == offline.info["table"]
