"""The contract suite's wiring: every test runs once per target, cleans up after itself, and is reported.

Targets come from the environment (tests/contract/settings.py, docs/contract-suite.md): the emulator always,
Signicat's sandbox with SIGNICAT_SANDBOX=1. The report is written when the sandbox is a target (or
SIGNICAT_CONTRACT_REPORT names a path).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from signing_core.signicat import SignicatClient
from tests.contract.report import ContractRun
from tests.contract.settings import ContractSettings
from tests.contract.targets import Target, open_target

RUN = pytest.StashKey[ContractRun]()


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = ContractSettings.from_env(os.environ)
    except ValueError as error:
        raise pytest.UsageError(f"contract suite: {error}") from error
    if settings.sandbox and (hasattr(config, "workerinput") or config.getoption("numprocesses", None)):
        raise pytest.UsageError("contract suite: run it against the sandbox in one process (no -n)")
    config.stash[RUN] = ContractRun(settings)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        targets = metafunc.config.stash[RUN].settings.targets
        metafunc.parametrize("target", targets, indirect=True, scope="session")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    if isinstance(item, pytest.Function):
        item.config.stash[RUN].record(item, report)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None and run.targets and run.settings.report_path is not None:
        run.write(run.settings.report_path)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None or not run.targets:
        return
    terminalreporter.section("Sign API v2 contract")
    for line in run.lines():
        terminalreporter.write_line(line)
    if run.settings.report_path is not None:
        terminalreporter.write_line(f"report: {run.settings.report_path}")


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    with open_target(request.param, request.config.stash[RUN].settings) as opened:
        request.config.stash[RUN].register(opened)
        yield opened


@pytest.fixture(autouse=True)
def cleanup(target: Target) -> Iterator[None]:
    """Whatever the test created is deleted after it, passed or failed."""
    yield
    target.clean_up()


@pytest.fixture
def client(target: Target) -> SignicatClient:
    """The product's client, one per target: it reuses its token across tests, as a warm container does."""
    return target.shared_client


@pytest.fixture
def signing(target: Target) -> Target:
    """For tests that need a signature: skipped before anything is created when nobody can sign."""
    if target.signer.unavailable:
        pytest.skip(target.signer.unavailable)
    return target
