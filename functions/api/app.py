"""The signing API: start a signing, read it, cancel it, and ask where to upload a large document."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from schemas import (
    DocumentIn,
    Problem,
    SigningCreated,
    SigningList,
    SigningOut,
    StartSigningIn,
    UploadIn,
    UploadOut,
)

from signing_core import lazy_imports, problems, snapstart
from signing_core import metrics as core_metrics
from signing_core.errors import DomainError, PayloadTooLarge
from signing_core.idempotency import idempotent
from signing_core.settings import ApiSettings
from signing_core.signicat_errors import SignicatError
from signing_core.vocabulary import STARTING, State

# Each use case loads with the first request that runs it; SnapStart loads them all before its snapshot.
cancelling = lazy_imports.later("signing_core.cancelling")
deferred_starting = lazy_imports.later("signing_core.deferred_starting")
reading = lazy_imports.later("signing_core.reading")
start_requests = lazy_imports.later("signing_core.start_requests")
starting = lazy_imports.later("signing_core.starting")
uploads = lazy_imports.later("signing_core.uploads")

logger = Logger()
# The core's stdlib loggers (signing_core.*) write through this one: the same JSON, level and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"signing_core"})
# The core's metrics through Powertools Metrics (EMF lines in this log); the handler records cold starts.
metrics = core_metrics.use_powertools()
# SnapStart: after each restore from the snapshot, renew what environments must not share (signing_core.snapstart).
snapstart.register()
app = APIGatewayRestResolver(enable_validation=True)
# Any route with a body can be refused before routing (413, 415, 400); each route adds its own problems.
UNREADABLE = (400, 413, 415)


def answers(success: tuple[int, str], *problem_statuses: int, links: dict | None = None) -> dict[int, Any]:
    """A route's documented answers: its success (the model comes from the return type) and its problems."""
    status, description = success
    documented: dict[int, Any] = {status: {"description": description, **({"links": links} if links else {})}}
    for problem_status in sorted(set(problem_statuses)):
        documented[problem_status] = {
            "description": problems.title(problem_status),
            "content": {problems.CONTENT_TYPE: {"model": Problem}},
        }
    return documented


# A started signing's id leads to reading and cancelling it (OpenAPI links; stateful fuzzing follows them).
SIGNING_LINKS = {
    operation: {"operationId": operation, "parameters": {"signingId": "$response.body#/signingId"}}
    for operation in ("getSigning", "cancelSigning")
}
IDEMPOTENCY_SECONDS = 24 * 3600  # how long an Idempotency-Key answers repeats


@cache
def settings() -> ApiSettings:
    """Read on first use, once per container (a failure is not cached: the next request reads again)."""
    return ApiSettings.from_env()


@app.post(
    "/signings",
    status_code=201,
    operation_id="startSigning",
    responses={
        **answers((201, "The signing started"), *UNREADABLE, 409, 422, 502, links=SIGNING_LINKS),
        **answers(
            (202, "A large start accepted: STARTING; GET it until it awaits signature"), links=SIGNING_LINKS
        ),
    },
)
def start_signing(
    request: Annotated[StartSigningIn, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            description="Makes a retried request answer the first result and create nothing new (24 hours)",
        ),
    ] = None,
) -> Response[SigningCreated]:
    """Upload the documents to Signicat, create the sessions, answer where to send each signer. A start with
    more uploaded bytes than the deployment's threshold is answered 202 (STARTING, no sessions yet) and finished
    out of band: the sessions appear on GET /signings/{signingId} (or the signing ends FAILED)."""
    command = {
        "caller": caller(),
        "key": idempotency_key,
        "request": request.model_dump(mode="json", exclude_none=True),
    }
    if idempotency_key:
        answer = _start_once(command=command, lambda_context=app.lambda_context)
    else:
        answer = _start(command)
    status = 202 if answer["state"] == STARTING else 201
    return Response(
        status, "application/json", answer, headers={"Location": f"/signings/{answer['signingId']}"}
    )


def caller() -> str | None:
    """The IAM principal that signed the request (AWS_IAM at the gateway); None when the API is open."""
    return app.current_event.request_context.identity.user_arn


# Powertools answers a repeat with the first answer while it holds it, and refuses the key with another body.
# It forgets a failed invocation and lets an in-progress record lapse: the start record (start_requests.py)
# is what makes any later repeat find the first signing. Both key on the caller: another principal's same
# key and body is another request.
@idempotent(
    data_keyword_argument="command",
    key="[caller, key]",
    payload="request",
    expires_after_seconds=IDEMPOTENCY_SECONDS,
)
def _start_once(command: dict[str, Any]) -> dict[str, Any]:
    return _start(command)


def _start(command: dict[str, Any]) -> dict[str, Any]:
    request = StartSigningIn.model_validate(command["request"])

    def signing_request() -> starting.SigningRequest:  # reads the uploads: only when there is a start to make
        documents = [_document(d) for d in request.documents]
        fields = request.model_dump(exclude={"documents", "signers"}, exclude_none=True)
        signers = [starting.Signer(**s.model_dump()) for s in request.signers]
        return starting.SigningRequest(documents=documents, signers=signers, **fields)

    signing = starting.start_signing(
        signing_request, settings().start, once=_start_request(command), deferral=_deferral()
    )
    if signing.state != STARTING:  # a deferred start's worker reads them, then forgets them
        uploads.forget_uploads([d.uploadId for d in request.documents if d.uploadId], settings().bucket)
    return SigningCreated.model_validate(signing.to_dict()).model_dump(mode="json")


def _deferral() -> deferred_starting.Deferral | None:
    if not settings().start_queue_url:
        return None
    return deferred_starting.Deferral(
        settings().defer_start_bytes, settings().bucket, settings().start_queue_url
    )


def _start_request(command: dict[str, Any]) -> start_requests.StartRequest | None:
    """With an Idempotency-Key, the start records it first, so that no retry ever makes a second signing."""
    if not command["key"]:
        return None
    return start_requests.StartRequest(
        key=start_requests.api_key(command["caller"], command["key"]),
        fingerprint=start_requests.fingerprint(command["request"]),
        lease_seconds=start_requests.lease_seconds(app.lambda_context.get_remaining_time_in_millis()),
        keep_seconds=IDEMPOTENCY_SECONDS,
    )


def _document(document: DocumentIn) -> starting.Document:
    if document.uploadId:
        return uploads.uploaded_document(
            document.filename,
            document.contentType,
            document.uploadId,
            settings().bucket,
            settings().start.max_upload_bytes,
        )
    content = document.content
    inline = starting.Document(document.filename, document.contentType, content, content[:8], len(content))
    starting.check_document(inline, settings().max_document_bytes)
    return inline


@app.get(
    "/signings/<signingId>",
    operation_id="getSigning",
    responses=answers((200, "The signing"), *UNREADABLE, 404),
)
def get_signing(signingId: Annotated[str, Path(min_length=1, max_length=64)]) -> SigningOut:
    """The signing; once completed, where the signed PAdES is, with a short-lived download URL."""
    return SigningOut.model_validate(reading.get_signing(signingId, settings().download_url_ttl_seconds))


@app.get("/signings", operation_id="listSignings", responses=answers((200, "Recent signings"), *UNREADABLE))
def list_signings(
    state: Annotated[State | None, Query(description="Only signings in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 20,
    cursor: Annotated[str | None, Query(max_length=1024, description="A previous page's nextCursor")] = None,
) -> SigningList:
    """Recent signings, newest first, a page at a time (as far back as signings are kept)."""
    return SigningList.model_validate(reading.list_signings(limit, state, cursor))


@app.delete(
    "/signings/<signingId>",
    operation_id="cancelSigning",
    responses=answers((200, "The cancelled signing"), *UNREADABLE, 404, 409, 502),
)
def cancel_signing(signingId: Annotated[str, Path(min_length=1, max_length=64)]) -> SigningOut:
    """Delete the signing sessions at Signicat and end the signing as CANCELLED. A second call changes nothing;
    409 when the signing already ended otherwise, when every signer has signed (it completes), or while its
    signed document is being stored."""
    cancelled = cancelling.cancel_signing(signingId, settings().start.signicat)
    return SigningOut.model_validate(reading.describe(cancelled, settings().download_url_ttl_seconds))


@app.post(
    "/uploads",
    status_code=201,
    operation_id="createUpload",
    responses=answers((201, "Where to PUT the document"), *UNREADABLE),
)
def create_upload(upload: Annotated[UploadIn, Body()]) -> Response[UploadOut]:
    """A presigned URL to PUT a document too large to send inline; then POST /signings with its uploadId."""
    created = uploads.create_upload(
        upload.filename, upload.contentType, settings().bucket, settings().start.max_upload_bytes
    )
    answer = UploadOut.model_validate(created)
    return Response(201, "application/json", answer.model_dump(mode="json"))


def problem(status: int, detail: str, **extra: Any) -> Response:
    return Response(status, problems.CONTENT_TYPE, json.dumps(problems.problem(status, detail, **extra)))


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    params = [
        {"name": ".".join(str(part) for part in e["loc"] if part != "body"), "reason": e["msg"]}
        for e in error.errors()
    ]
    detail = "; ".join(f"{p['name'] or 'body'}: {p['reason']}" for p in params)
    return problem(400, detail or "the request is not valid", code="INVALID_INPUT", invalidParams=params)


@app.exception_handler(DomainError)
def domain_error(error: DomainError) -> Response:
    return problem(error.status, error.detail, code=error.code, **error.extra)


@app.exception_handler(SignicatError)
def signicat_error(error: SignicatError) -> Response:
    """What failed and Signicat's traceId; the URL, Signicat's detail and the exception text stay in the log."""
    logger.warning(
        "Signicat call failed",
        extra={"status": error.status, "code": error.code, "traceId": error.trace_id, "error": str(error)},
    )
    code = "SIGNICAT_UNAVAILABLE" if error.retryable else "SIGNICAT_REFUSED"
    return problem(502, error.summary(), code=code, traceId=error.trace_id)


@app.not_found
def not_found(error: NotFoundError) -> Response:
    return problem(404, "no such route", code="NOT_FOUND")


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    return problem(500, "internal error; it has been logged", code="INTERNAL")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    refusal = refuse_unreadable_body(event)
    if refusal:
        return refusal
    return app.resolve(event, context)


def refuse_unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies the router cannot read are answered before routing, with a problem instead of an error."""
    body = event.get("body") or ""
    if not body:
        return None
    max_bytes = settings().max_request_bytes
    if len(body) > max_bytes:
        detail = f"the request is larger than {max_bytes} bytes; upload the document first"
        return _early(413, detail, PayloadTooLarge.code)
    content_type = (app_headers(event).get("content-type") or "application/json").lower()
    if not content_type.startswith("application/json"):
        return _early(415, "the request body must be application/json", "UNSUPPORTED_MEDIA_TYPE")
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:
            return _early(400, "the request body is not UTF-8 JSON", "INVALID_INPUT")
    return None


def app_headers(event: dict[str, Any]) -> dict[str, str]:
    return {key.lower(): value for key, value in (event.get("headers") or {}).items()}


def _early(status: int, detail: str, code: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": problems.CONTENT_TYPE},
        "body": json.dumps(problems.problem(status, detail, code=code)),
    }
