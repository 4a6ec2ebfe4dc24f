"""IAM in front of moto server, as AWS enforces it: every request is signed by a known key, and the caller's
identity policies allow the action on the resource, with the condition keys AWS sets for that request.

moto's own access control (`INITIAL_NO_AUTH_ACTION_COUNT`) stays off. As pinned (moto 5.2.5) it authorizes
DynamoDB, Secrets Manager and EventBridge calls against the resource "*", so a grant scoped to a table, secret
or bus ARN denies everything; it evaluates no condition operator but StringEquals (and a failed one denies,
even in an Allow); presigned URLs fail with a 500; a role whose trust policy names a service principal cannot
be assumed (500); and a missing key answers 404 where AWS answers 403 to a caller without s3:ListBucket.
This middleware decides instead, over moto's own IAM store (users, access keys, roles, assumed-role sessions,
inline and managed policies) and moto's backends for what a request names (a table's partition key, a
secret's ARN). What it does not model: resource-based policies (bucket, queue and key policies), permission
boundaries, session policies, SCPs, and the expiry of assumed-role credentials.
"""

from __future__ import annotations

import collections
import hmac
import io
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
ALGORITHM = "AWS4-HMAC-SHA256"
# Sent by the botocore of these machines for S3 calls; the body is then not part of the signature.
_JSON_CONTENT = "application/x-amz-json-1.0"
ALLOW, DENY = "Allow", "Deny"
_SIGV4_ONLY = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
# A request whose partition key values cannot be read: matches no pattern, so a LeadingKeys grant never applies.
UNKNOWN_KEY = "\x00unknown"


# --- what is asked ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One question to the policies: may the caller do `action` on `resource`, given these condition keys?"""

    action: str
    resource: str
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Denial:
    caller: str
    action: str
    resource: str
    reason: str


def evaluate(documents: Iterable[Mapping[str, Any]], call: Call) -> str | None:
    """ALLOW, DENY (an explicit Deny matched) or None (no statement allows: the implicit deny)."""
    allowed = False
    for document in documents:
        statements = document.get("Statement") or []
        for statement in [statements] if isinstance(statements, Mapping) else statements:
            effect = statement.get("Effect")
            if not _applies(statement, call, deny=effect == DENY):
                continue
            if effect == DENY:
                return DENY
            allowed = allowed or effect == ALLOW
    return ALLOW if allowed else None


def _applies(statement: Mapping[str, Any], call: Call, *, deny: bool) -> bool:
    if "Principal" in statement or "NotPrincipal" in statement:
        return False  # a resource-based or trust statement: not an identity policy's
    if not _element_matches(statement, "Action", call.action, ignore_case=True):
        return False
    if not _element_matches(statement, "Resource", call.resource, ignore_case=False):
        return False
    return _conditions_hold(statement.get("Condition") or {}, call.context, deny=deny)


def _element_matches(statement: Mapping[str, Any], name: str, value: str, *, ignore_case: bool) -> bool:
    if name in statement:
        return any(wildcard_match(pattern, value, ignore_case) for pattern in _as_list(statement[name]))
    if f"Not{name}" in statement:
        return not any(
            wildcard_match(pattern, value, ignore_case) for pattern in _as_list(statement[f"Not{name}"])
        )
    return False


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's `*` (any run of characters) and `?` (one character); everything else literally."""
    return _wildcard(str(pattern), ignore_case).fullmatch(value) is not None


@cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(expression, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# --- conditions ------------------------------------------------------------------------------------------

_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringEqualsIgnoreCase": lambda pattern, value: pattern.lower() == value.lower(),
    "StringLike": lambda pattern, value: wildcard_match(pattern, value),
    "ArnEquals": lambda pattern, value: pattern == value,
    "ArnLike": lambda pattern, value: wildcard_match(pattern, value),
    "Bool": lambda pattern, value: pattern.lower() == value.lower(),
}
_NEGATIONS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _conditions_hold(
    conditions: Mapping[str, Any], context: Mapping[str, Sequence[str]], *, deny: bool
) -> bool:
    """Every condition holds. An operator this evaluator does not know holds for a Deny and fails for an
    Allow, so an unknown condition can only make the offline stack stricter than AWS, never laxer."""
    for operator, tests in conditions.items():
        for key, patterns in tests.items():
            held = _condition_holds(operator, [str(p) for p in _as_list(patterns)], context.get(key))
            if held is None:
                held = deny
            if not held:
                return False
    return True


def _condition_holds(operator: str, patterns: list[str], values: Sequence[str] | None) -> bool | None:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base.removesuffix("IfExists") if if_exists else base
    if base == "Null":
        return (values is None or len(values) == 0) == (patterns[0].lower() == "true")
    negated = base in _NEGATIONS
    test = _STRING_TESTS.get(_NEGATIONS.get(base, base))
    if test is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        return None

    def matches(value: str) -> bool:
        found = any(test(pattern, value) for pattern in patterns)
        return not found if negated else found

    if qualifier == "ForAllValues":
        return all(matches(value) for value in values or ())  # AWS: true for a missing or empty key
    if not values:
        # AWS: a missing key fails a positive operator and satisfies a negated one (and IfExists).
        return if_exists or negated
    if qualifier == "ForAnyValue" or not negated:
        return any(matches(value) for value in values)
    return all(matches(value) for value in values)


# --- who asks ----------------------------------------------------------------------------------------------


class Refused(Exception):
    """The request is refused before it reaches moto: AWS's error code and message."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Caller:
    arn: str
    policies: tuple[Mapping[str, Any], ...]
    access_key: Any  # moto's IAMUserAccessKey or AssumedRoleAccessKey


@dataclass(frozen=True)
class Signature:
    """SigV4 as sent: in the Authorization header, or in the query of a presigned URL."""

    access_key_id: str
    date: str  # yyyymmdd of the scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str  # X-Amz-Date
    token: str | None
    in_query: bool
    expires: int | None = None


def parse_signature(headers: Mapping[str, str], query: list[tuple[str, str]]) -> Signature | None:
    params = dict(query)
    if params.get("X-Amz-Algorithm") == ALGORITHM:
        credential = params.get("X-Amz-Credential", "")
        signed = params.get("X-Amz-SignedHeaders", "")
        values = {
            "signature": params.get("X-Amz-Signature", ""),
            "timestamp": params.get("X-Amz-Date", ""),
            "token": params.get("X-Amz-Security-Token"),
            "expires": int(params.get("X-Amz-Expires") or 0),
        }
        in_query = True
    else:
        authorization = headers.get("Authorization", "")
        if not authorization.startswith(ALGORITHM + " "):
            return None
        parts = dict(
            part.strip().split("=", 1) for part in authorization[len(ALGORITHM) :].split(",") if "=" in part
        )
        credential, signed = parts.get("Credential", ""), parts.get("SignedHeaders", "")
        values = {
            "signature": parts.get("Signature", ""),
            "timestamp": headers.get("X-Amz-Date", ""),
            "token": headers.get("X-Amz-Security-Token"),
        }
        in_query = False
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise Refused("IncompleteSignature", "The credential scope is not valid.", 400)
    return Signature(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(signed.split(";")) if signed else (),
        in_query=in_query,
        **values,
    )


def expected_signature(
    signature: Signature,
    secret_key: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping,
    body: bytes,
) -> str:
    """The signature botocore would compute for this request with `secret_key` (its own signer, unchanged)."""
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials(signature.access_key_id, secret_key, signature.token)
    if signature.in_query:
        auth = S3SigV4QueryAuth(credentials, signature.service, signature.region, signature.expires or 3600)
        pairs = [pair for pair in raw_query.split("&") if pair and not pair.startswith("X-Amz-Signature=")]
        raw_query = "&".join(pairs)
    elif signature.service == "s3":
        auth = S3SigV4Auth(credentials, signature.service, signature.region)
    else:
        auth = SigV4Auth(credentials, signature.service, signature.region)
    signed = {name: headers.get(name, "") for name in signature.signed_headers}
    url = raw_path + ("?" + raw_query if raw_query else "")
    request = AWSRequest(method=method, url=url, headers=signed, data=body)
    request.context["timestamp"] = signature.timestamp
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


# --- what a request does, per service --------------------------------------------------------------------


@dataclass
class Described:
    calls: list[Call]
    # An object read by a caller that may not list the bucket: a 404 from moto becomes AWS's 403.
    hide_missing: Call | None = None
    role_to_assume: str | None = None
    always_allowed: bool = False


@dataclass(frozen=True)
class Incoming:
    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes
    region: str
    account: str

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.raw_query, keep_blank_values=True)

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def operation(self) -> tuple[str, dict[str, Any]]:
        """The operation and its parameters: JSON protocol (X-Amz-Target) or query protocol (Action=)."""
        target = self.headers.get("X-Amz-Target")
        if target:
            return target.rpartition(".")[2], self.json()
        params = dict(self.query)
        if self.body and "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            params.update(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return params.get("Action", ""), params


def _arn(service: str, incoming: Incoming, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{incoming.region}:{incoming.account}:{resource}"


def describe_s3(incoming: Incoming) -> Described:
    from moto.s3.responses import ACTION_MAP

    path = unquote(incoming.raw_path)
    bucket, _, key = path.lstrip("/").partition("/")
    query = dict(incoming.query)
    context = {"aws:SecureTransport": ["false"]}
    if not bucket:
        return Described([Call("s3:ListAllMyBuckets", "*", context)])
    method = incoming.method.upper()
    kind = "KEY" if key else "BUCKET"
    actions = ACTION_MAP[kind].get(method, {})
    action = next((name for sub, name in actions.items() if sub != "DEFAULT" and sub in query), None)
    action = action or actions.get("DEFAULT") or f"{method}{kind.title()}"
    if kind == "KEY" and method == "HEAD" and "versionId" in query:
        action = "GetObjectVersion"  # moto's map says GetObject; AWS asks for the version permission
    if kind == "BUCKET" and action in ("ListBucket", "ListBucketVersions", "ListBucketMultipartUploads"):
        for name in ("prefix", "delimiter", "max-keys"):
            if name in query:
                context[f"s3:{name}"] = [query[name]]
    if "versionId" in query:
        context["s3:versionid"] = [query["versionId"]]
    resource = f"arn:{PARTITION}:s3:::{bucket}" + (f"/{key}" if key else "")
    calls = [Call(f"s3:{action}", resource, context)]
    copy_source = incoming.headers.get("x-amz-copy-source")
    if kind == "KEY" and method == "PUT" and copy_source:
        source, _, version = unquote(copy_source).lstrip("/").partition("?versionId=")
        read = "s3:GetObjectVersion" if version else "s3:GetObject"
        calls.append(Call(read, f"arn:{PARTITION}:s3:::{source}", context))
    if kind == "BUCKET" and method == "POST" and "delete" in query:
        # DeleteObjects: AWS authorizes the deletion of each object it names.
        calls = [
            Call("s3:DeleteObjectVersion" if version else "s3:DeleteObject", f"{resource}/{key}", context)
            for key, version in _objects_to_delete(incoming.body)
        ]
    hide_missing = None
    if kind == "KEY" and action in ("GetObject", "GetObjectVersion"):
        hide_missing = Call("s3:ListBucket", f"arn:{PARTITION}:s3:::{bucket}", context)
    return Described(calls, hide_missing=hide_missing)


def _objects_to_delete(body: bytes) -> list[tuple[str, str | None]]:
    """The (key, version id) pairs of a DeleteObjects request body; an unreadable or empty one names a key no
    grant matches. AWS answers AccessDenied per object inside a 200; refusing the whole request is stricter."""
    import xmltodict

    try:
        objects = (xmltodict.parse(body or b"<Delete/>").get("Delete") or {}).get("Object") or []
    except Exception:
        objects = []
    pairs = [(str(o.get("Key", "")), o.get("VersionId")) for o in _as_list(objects) if isinstance(o, Mapping)]
    return pairs or [(UNKNOWN_KEY, None)]


_DYNAMODB_ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def describe_dynamodb(incoming: Incoming) -> Described:
    operation, params = incoming.operation()

    def table_arn(name: str, index: str | None = None) -> str:
        return _arn("dynamodb", incoming, f"table/{name}" + (f"/index/{index}" if index else ""))

    def leading_keys(table: str, items: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
        attribute = _partition_key(incoming, table)
        values = [_scalar(item.get(attribute)) if attribute else UNKNOWN_KEY for item in items]
        return {"dynamodb:LeadingKeys": values}

    if operation in _DYNAMODB_ITEM_OPERATIONS:
        table = params.get("TableName", "")
        item = params.get("Item") if operation == "PutItem" else params.get("Key")
        return Described([Call(f"dynamodb:{operation}", table_arn(table), leading_keys(table, [item or {}]))])
    if operation in ("TransactWriteItems", "TransactGetItems"):
        calls = []
        for entry in params.get("TransactItems") or []:
            for kind, request in entry.items():
                table = request.get("TableName", "")
                item = request.get("Item") if kind == "Put" else request.get("Key")
                calls.append(
                    Call(
                        f"dynamodb:{_TRANSACT_ACTIONS.get(kind, kind)}",
                        table_arn(table),
                        leading_keys(table, [item or {}]),
                    )
                )
        return Described(calls)
    if operation in ("BatchWriteItem", "BatchGetItem"):
        calls = []
        for table, entries in (params.get("RequestItems") or {}).items():
            if operation == "BatchGetItem":
                items = entries.get("Keys") or []
            else:
                items = [
                    r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key") or {}
                    for r in entries
                ]
            calls.append(Call(f"dynamodb:{operation}", table_arn(table), leading_keys(table, items)))
        return Described(calls)
    if operation in ("Query", "Scan"):
        table, index = params.get("TableName", ""), params.get("IndexName")
        keys = (
            [_queried_partition_key(incoming, params)]
            if operation == "Query" and not index
            else [UNKNOWN_KEY]
        )
        return Described(
            [Call(f"dynamodb:{operation}", table_arn(table, index), {"dynamodb:LeadingKeys": keys})]
        )
    table = params.get("TableName")
    return Described([Call(f"dynamodb:{operation}", table_arn(table) if table else "*")])


def _partition_key(incoming: Incoming, table: str) -> str | None:
    from moto.dynamodb.models import dynamodb_backends

    try:
        return dynamodb_backends[incoming.account][incoming.region].get_table(table).hash_key_attr
    except Exception:
        return None  # no such table: moto answers ResourceNotFound once the call is allowed


def _queried_partition_key(incoming: Incoming, params: Mapping[str, Any]) -> str:
    """The partition key value of `pk = :v` in a Query's key condition, or UNKNOWN_KEY."""
    attribute = _partition_key(incoming, params.get("TableName", ""))
    names = dict(params.get("ExpressionAttributeNames") or {})
    for left, right in re.findall(r"([#\w]+)\s*=\s*(:\w+)", params.get("KeyConditionExpression") or ""):
        if names.get(left, left) == attribute:
            return _scalar((params.get("ExpressionAttributeValues") or {}).get(right))
    return UNKNOWN_KEY


def _scalar(value: Any) -> str:
    """A DynamoDB attribute value ({"S": "x"}) as the string IAM compares."""
    if isinstance(value, Mapping) and len(value) == 1:
        inner = next(iter(value.values()))
        if isinstance(inner, str | int | float):
            return str(inner)
    return UNKNOWN_KEY


_SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def describe_sqs(incoming: Incoming) -> Described:
    operation, params = incoming.operation()
    queue = params.get("QueueUrl") or params.get("QueueName")
    if not queue and incoming.raw_path.count("/") >= 2:
        queue = incoming.raw_path  # the query protocol's queue URL path: /<account>/<name>
    resource = _arn("sqs", incoming, str(queue).rstrip("/").rpartition("/")[2]) if queue else "*"
    return Described([Call(f"sqs:{_SQS_BATCH_ACTIONS.get(operation, operation)}", resource)])


def describe_secretsmanager(incoming: Incoming) -> Described:
    from moto.secretsmanager.models import secretsmanager_backends

    operation, params = incoming.operation()
    secret_id = params.get("SecretId") or params.get("Name")
    if not secret_id:
        return Described([Call(f"secretsmanager:{operation}", "*")])
    found = secretsmanager_backends[incoming.account][incoming.region].secrets.get(secret_id)
    resource = found.arn if found is not None else _arn("secretsmanager", incoming, f"secret:{secret_id}")
    return Described([Call(f"secretsmanager:{operation}", resource)])


def describe_ssm(incoming: Incoming) -> Described:
    """Parameter reads name their parameter (its ARN has no second slash for a name that starts with one)."""
    operation, params = incoming.operation()
    names = params.get("Names") or ([params["Name"]] if params.get("Name") else [])
    if not names:
        return Described([Call(f"ssm:{operation}", "*")])
    return Described(
        [Call(f"ssm:{operation}", _arn("ssm", incoming, f"parameter/{name.lstrip('/')}")) for name in names]
    )


def describe_events(incoming: Incoming) -> Described:
    operation, params = incoming.operation()
    if operation == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in params.get("Entries") or []} or {
            "default"
        }
        return Described(
            [
                Call(
                    "events:PutEvents",
                    bus if bus.startswith("arn:") else _arn("events", incoming, f"event-bus/{bus}"),
                )
                for bus in sorted(buses)
            ]
        )
    rule = params.get("Rule") or (params.get("Name") if "Rule" in operation else None)
    resource = _arn("events", incoming, f"rule/{rule}") if rule else "*"
    return Described([Call(f"events:{operation}", resource)])


def describe_sts(incoming: Incoming) -> Described:
    operation, params = incoming.operation()
    if operation == "GetCallerIdentity":
        return Described([], always_allowed=True)  # AWS allows it even under an explicit Deny
    if operation == "AssumeRole":
        role = params.get("RoleArn", "")
        return Described([Call("sts:AssumeRole", role)], role_to_assume=role)
    return Described([Call(f"sts:{operation}", "*")])


def describe_other(service: str) -> Callable[[Incoming], Described]:
    def describe(incoming: Incoming) -> Described:
        operation, _ = incoming.operation()
        return Described([Call(f"{service}:{operation}", "*")])

    return describe


DESCRIBERS: dict[str, Callable[[Incoming], Described]] = {
    "s3": describe_s3,
    "dynamodb": describe_dynamodb,
    "sqs": describe_sqs,
    "secretsmanager": describe_secretsmanager,
    "events": describe_events,
    "ssm": describe_ssm,
    "sts": describe_sts,
}


# --- trust policies ---------------------------------------------------------------------------------------


def trusts(trust_policy: Mapping[str, Any], principal: str, service: str | None) -> bool:
    """The role's trust policy lets this caller (an ARN, or the service it stands in for) assume it."""
    allowed = False
    for statement in _as_list(trust_policy.get("Statement") or []):
        if not any(wildcard_match(a, "sts:AssumeRole", True) for a in _as_list(statement.get("Action", []))):
            continue
        named = statement.get("Principal") or {}
        matches = named == "*" or (
            isinstance(named, Mapping)
            and (
                (service is not None and service in _as_list(named.get("Service", [])))
                or any(_principal_matches(p, principal) for p in _as_list(named.get("AWS", [])))
            )
        )
        if matches and statement.get("Effect") == DENY:
            return False
        allowed = allowed or (matches and statement.get("Effect") == ALLOW)
    return allowed


def _principal_matches(named: str, principal: str) -> bool:
    account = principal.split(":")[4] if principal.count(":") >= 5 else ""
    return named in ("*", principal, account, f"arn:{PARTITION}:iam::{account}:root")


# --- the middleware ---------------------------------------------------------------------------------------


class AccessControl:
    """WSGI middleware in front of moto's app; off until `enable()` (the stack creates its first users unsigned).

    `service_principals` maps an IAM user's ARN to the AWS service it stands in for offline (the stack's
    user that assumes the functions' roles is "lambda.amazonaws.com", as in the roles' trust policies).
    """

    def __init__(
        self,
        app: Callable,
        *,
        account_id: str = ACCOUNT_ID,
        service_principals: Mapping[str, str] | None = None,
    ) -> None:
        self._app = app
        self._account = account_id
        self.service_principals = dict(service_principals or {})
        self.enabled = False
        self.denials: collections.deque[Denial] = collections.deque(maxlen=1000)
        self._lock = threading.Lock()

    def enable(self) -> None:
        self.enabled = True

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self.enabled or path.startswith("/moto-api"):
            return self._app(environ, start_response)
        from werkzeug.datastructures import EnvironHeaders

        headers = EnvironHeaders(environ)
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
        parts = urlsplit(raw_uri)
        signature_service = "s3"
        try:
            signature = parse_signature(headers, parse_qsl(parts.query, keep_blank_values=True))
            if signature is None:
                if "AWSAccessKeyId=" in parts.query or headers.get("Authorization", "").startswith("AWS "):
                    # SigV2, which S3 buckets created since June 2020 do not take.
                    raise Refused("InvalidRequest", _SIGV4_ONLY, 400)
                raise Refused("AccessDenied", "Anonymous requests are not allowed: sign them with SigV4.")
            signature_service = signature.service
            # S3 signs its body's hash in a header; only DeleteObjects' body says what the request does.
            deletes = environ["REQUEST_METHOD"] == "POST" and "delete" in dict(parse_qsl(parts.query, True))
            body = self._body(environ, read=signature.service != "s3" or deletes)
            incoming = Incoming(
                environ["REQUEST_METHOD"],
                parts.path,
                parts.query,
                headers,
                body,
                signature.region,
                self._account,
            )
            caller = self._authenticate(signature, incoming)
            described = DESCRIBERS.get(signature.service, describe_other(signature.service))(incoming)
            self._authorize(caller, described)
        except Refused as refusal:
            return _refusal(signature_service, refusal, environ)(environ, start_response)
        if described.hide_missing is not None and not self._allows(caller, described.hide_missing):
            return self._hiding_missing(caller, described.hide_missing, environ, start_response)
        return self._app(environ, start_response)

    # -- pieces --

    @staticmethod
    def _body(environ: dict, *, read: bool) -> bytes:
        """The request body, read once and put back for moto."""
        if not read:
            return b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _authenticate(self, signature: Signature, incoming: Incoming) -> Caller:
        from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

        token = {"X-Amz-Security-Token": signature.token} if signature.token else {}
        try:
            key = create_access_key(self._account, PARTITION, signature.access_key_id, token)
        except CreateAccessKeyFailure as failure:
            if failure.reason == "InvalidToken":
                raise Refused(
                    "InvalidToken", "The provided token is malformed or otherwise invalid.", 400
                ) from None
            raise Refused(
                "InvalidClientTokenId", "The security token included in the request is invalid."
            ) from None
        secret = key.create_credentials().secret_key
        wanted = expected_signature(
            signature,
            secret,
            incoming.method,
            incoming.raw_path,
            incoming.raw_query,
            incoming.headers,
            incoming.body,
        )
        if not hmac.compare_digest(wanted, signature.signature):
            raise Refused(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if signature.in_query and _expired(signature):
            raise Refused("AccessDenied", "Request has expired")
        policies = tuple(_document(policy) for policy in key.collect_policies())
        return Caller(key.arn, policies, key)

    def _authorize(self, caller: Caller, described: Described) -> None:
        if described.always_allowed:
            return
        for call in described.calls:
            decision = evaluate(caller.policies, call)
            if decision != ALLOW:
                reason = (
                    "with an explicit deny in an identity-based policy"
                    if decision == DENY
                    else (f"because no identity-based policy allows the {call.action} action")
                )
                self._refuse(caller, call, reason)
        if described.role_to_assume is not None:
            self._check_trust(caller, described.role_to_assume)

    def _allows(self, caller: Caller, call: Call) -> bool:
        return evaluate(caller.policies, call) == ALLOW

    def _check_trust(self, caller: Caller, role_arn: str) -> None:
        from moto.iam.models import iam_backends

        try:
            role = iam_backends[self._account][PARTITION].get_role_by_arn(role_arn)
        except Exception:
            return  # no such role: moto answers that itself
        if not trusts(
            json.loads(role.assume_role_policy_document), caller.arn, self.service_principals.get(caller.arn)
        ):
            self._refuse(
                caller, Call("sts:AssumeRole", role_arn), "because the role's trust policy does not allow it"
            )

    def _refuse(self, caller: Caller, call: Call, reason: str) -> None:
        self._record(caller, call, reason)
        raise Refused(
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: {call.action} on resource: {call.resource} {reason}",
        )

    def _record(self, caller: Caller, call: Call, reason: str) -> None:
        with self._lock:
            self.denials.append(Denial(caller.arn, call.action, call.resource, reason))
        log.warning("access denied: %s may not %s on %s %s", caller.arn, call.action, call.resource, reason)

    def _hiding_missing(
        self, caller: Caller, list_bucket: Call, environ: dict, start_response: Callable
    ) -> Iterable[bytes]:
        """AWS tells a caller without s3:ListBucket nothing about which keys exist: a 404 becomes 403."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = self._app(environ, capture)
        if not captured.get("status", "").startswith("404"):
            start_response(captured["status"], captured["headers"])
            return body
        if hasattr(body, "close"):
            body.close()
        self._record(caller, list_bucket, f"(the key {environ.get('PATH_INFO', '')} does not exist)")
        return _refusal("s3", Refused("AccessDenied", "Access Denied"), environ)(environ, start_response)


def _document(policy: Any) -> Mapping[str, Any]:
    """A moto policy (inline dict or managed Policy) as its JSON document."""
    from moto.iam.access_control import IAMPolicy

    return IAMPolicy(policy)._policy_json


def _expired(signature: Signature) -> bool:
    try:
        signed_at = datetime.strptime(signature.timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return True
    return time.time() > signed_at + (signature.expires or 0)


def _refusal(service: str, refusal: Refused, environ: dict) -> Callable:
    """AWS's error for the service's protocol: XML for S3 and the query services, JSON for the JSON ones."""
    from werkzeug.wrappers import Response

    request_id = str(uuid.uuid4())
    if service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{refusal.code}</Code><Message>{_xml(refusal.message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        empty = environ.get("REQUEST_METHOD") == "HEAD"
        return Response("" if empty else body, status=refusal.status, content_type="application/xml")
    if environ.get("HTTP_X_AMZ_TARGET"):
        code = {
            "AccessDenied": "AccessDeniedException",
            "InvalidClientTokenId": "UnrecognizedClientException",
            "SignatureDoesNotMatch": "InvalidSignatureException",
        }.get(refusal.code, refusal.code)
        body = json.dumps({"__type": code, "message": refusal.message, "Message": refusal.message})
        return Response(
            body, status=400, content_type=_JSON_CONTENT, headers={"x-amzn-RequestId": request_id}
        )
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{refusal.code}</Code><Message>{_xml(refusal.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(body, status=refusal.status, content_type="text/xml")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
