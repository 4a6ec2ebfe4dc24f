"""Where esign sends its requests: the offline stack (out/stack.json), an API URL signed with SigV4 from the
caller's AWS credentials, or a deployed stack's CloudFormation outputs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

DEFAULT_STACK = Path("out/stack.json")
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


class TargetError(RuntimeError):
    """No target, or one that cannot be read."""


class SigV4(requests.auth.AuthBase):
    """Signs each request for API Gateway (execute-api) with botocore, from the caller's AWS credentials."""

    def __init__(self, region: str, credentials: Any) -> None:
        self.region = region
        self.credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        signed = AWSRequest(
            method=request.method, url=request.url, data=request.body or b"", headers=dict(request.headers)
        )
        SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(signed)
        request.headers.update(dict(signed.headers))
        return request


@dataclass(frozen=True)
class Target:
    api_url: str
    auth: requests.auth.AuthBase | None = None
    emulator_url: str | None = None  # the offline stack's Sign API emulator: its CA is the trust root there


def from_stack_file(path: Path) -> Target:
    try:
        info = json.loads(path.read_text())
        return Target(api_url=info["apiUrl"].rstrip("/"), emulator_url=info.get("emulatorUrl"))
    except FileNotFoundError:
        raise TargetError(f"{path} not found: start the offline stack with `make up`") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TargetError(f"{path} is not a stack description (no apiUrl)") from None


def from_api_url(api_url: str, region: str | None = None) -> Target:
    import botocore.session

    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        raise TargetError("no AWS credentials found to sign the requests (SigV4)")
    match = _REGION_IN_HOST.search(api_url)
    region = region or (match.group(1) if match else None) or session.get_config_variable("region")
    if not region:
        raise TargetError("cannot tell the API's region: give --region or set AWS_REGION")
    return Target(api_url=api_url.rstrip("/"), auth=SigV4(region, credentials))


def from_stack_name(stack_name: str, region: str | None = None) -> Target:
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    session = botocore.session.get_session()
    try:
        cloudformation = session.create_client("cloudformation", region_name=region)
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise TargetError(f"cannot read stack {stack_name}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if "ApiUrl" not in outputs:
        raise TargetError(f"stack {stack_name} has no ApiUrl output")
    return from_api_url(outputs["ApiUrl"], region or cloudformation.meta.region_name)


def resolve(
    stack: Path | None, api_url: str | None, stack_name: str | None, region: str | None = None
) -> Target:
    """--api-url, else --stack-name, else --stack, else out/stack.json when it exists."""
    if api_url:
        return from_api_url(api_url, region)
    if stack_name:
        return from_stack_name(stack_name, region)
    if stack or DEFAULT_STACK.exists():
        return from_stack_file(stack or DEFAULT_STACK)
    raise TargetError("no target: give --stack FILE, --api-url URL or --stack-name NAME (or run `make up`)")
