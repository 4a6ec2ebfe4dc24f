"""IAM for the offline stack: the functions' execution roles as AWS gets them, and the principals made in moto.

samtranslator turns template.yaml into the CloudFormation that AWS deploys (policy templates expanded, the
managed policies SAM attaches for logs, tracing and event sources); its AWS::IAM::Role resources are read
from there, their intrinsics left for the stack's Resolver, which knows the physical names.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from local.template import FUNCTION_TYPE, LAYER_TYPE, Template, TemplateError

ROLE_TYPE = "AWS::IAM::Role"


@dataclass(frozen=True)
class ExecutionRole:
    logical_id: str  # e.g. ApiFunctionRole, as SAM names it
    function: str
    trust_policy: Mapping[str, Any]
    managed_policy_arns: tuple[Any, ...]
    policies: Mapping[str, Any]  # inline policy name → document, intrinsics unresolved


class OfflineManagedPolicies:
    """samtranslator's managed-policy loader (names in `Policies:` → ARNs) from the AWS managed policies that
    moto ships, instead of IAM's ListPolicies."""

    def load(self) -> dict[str, str]:
        return _aws_managed_policy_arns()


@cache
def _aws_managed_policy_arns() -> dict[str, str]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return {
        name: f"arn:aws:iam::aws:policy{data.get('Path', '/')}{name}"
        for name, data in json.loads(aws_managed_policies_data).items()
    }


def translate(template: Template, parameters: Mapping[str, str], region: str) -> dict[str, Any]:
    """The CloudFormation template SAM's transform makes of this one."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    document = copy.deepcopy(dict(template.document))
    for resource in document["Resources"].values():
        # SAM's transform only takes code in S3 (`sam validate` does the same).
        properties = resource.setdefault("Properties", {})
        if resource.get("Type") == FUNCTION_TYPE and isinstance(properties.get("CodeUri", ""), str):
            properties["CodeUri"] = f"s3://offline/{properties.get('CodeUri', '')}"
        if resource.get("Type") == LAYER_TYPE and isinstance(properties.get("ContentUri", ""), str):
            properties["ContentUri"] = f"s3://offline/{properties.get('ContentUri', '')}"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    loader = OfflineManagedPolicies()
    try:
        return translator.translate(document, dict(parameters), get_managed_policy_map=loader.load)
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause) for cause in error.causes)
        raise TemplateError(f"SAM cannot transform the template: {causes}") from None


def execution_roles(
    template: Template, parameters: Mapping[str, str], region: str
) -> dict[str, ExecutionRole]:
    """Each function's execution role, by the function's logical id."""
    resources = translate(template, parameters, region)["Resources"]
    roles = {}
    for function in template.functions:
        role = (resources[function].get("Properties") or {}).get("Role")
        role_id = role.get("Fn::GetAtt", [None])[0] if isinstance(role, Mapping) else None
        if role_id not in resources or resources[role_id].get("Type") != ROLE_TYPE:
            raise TemplateError(
                f"{function} names a role of its own ({role}); the offline stack runs functions with the roles SAM makes"
            )
        properties = resources[role_id]["Properties"]
        roles[function] = ExecutionRole(
            logical_id=role_id,
            function=function,
            trust_policy=properties["AssumeRolePolicyDocument"],
            managed_policy_arns=tuple(properties.get("ManagedPolicyArns") or ()),
            policies={p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies") or ()},
        )
    return roles


def create_role(iam: Any, role: ExecutionRole, name: str, resolve: Callable[[Any], Any]) -> str:
    """The role in moto, its intrinsics resolved: trust policy, inline policies, managed policies. Its ARN."""
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role.trust_policy))["Role"][
        "Arn"
    ]
    for policy_name, document in role.policies.items():
        # SAM writes no Version (IAM then reads 2008-10-17, which moto refuses); no policy variable is used.
        document = {"Version": "2012-10-17", **resolve(document)}
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    for policy_arn in role.managed_policy_arns:
        iam.attach_role_policy(RoleName=name, PolicyArn=resolve(policy_arn))
    return arn


def assume_role(sts: Any, role_arn: str, session_name: str) -> dict[str, str]:
    """Temporary credentials of the role, as boto3 takes them."""
    assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return {
        "aws_access_key_id": assumed["AccessKeyId"],
        "aws_secret_access_key": assumed["SecretAccessKey"],
        "aws_session_token": assumed["SessionToken"],
    }


def iam_user(
    iam: Any, name: str, *, managed: str | None = None, inline: Mapping | None = None
) -> dict[str, str]:
    """An IAM user with a managed and/or an inline policy, and its access key (as boto3 credentials)."""
    iam.create_user(UserName=name)
    if managed:
        iam.attach_user_policy(UserName=name, PolicyArn=managed)
    if inline:
        iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(inline))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
