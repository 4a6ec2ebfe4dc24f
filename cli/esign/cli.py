"""The `esign` commands: thin over client.py; errors are one line, never a traceback.

Exit codes: 0 done (a watched signing COMPLETED, a verified PDF valid), 1 an error or a PDF that fails
verification, 3 a signing that ended otherwise than COMPLETED, 4 a watch that timed out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from esign import signers as signer_specs
from esign.client import FINAL_STATES, ApiError, Client, Document, signed_document
from esign.targets import TargetError, resolve

ENDED_OTHERWISE, TIMED_OUT = 3, 4
STATES = ("AWAITING_SIGNATURE", "SIGNED", "COMPLETED", "FAILED", "REJECTED", "EXPIRED", "CANCELLED")
out = Console(soft_wrap=True)
err = Console(stderr=True)


class OneLineErrors(click.Group):
    """Every failure below a command is one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (ApiError, TargetError, signer_specs.SignerSpecError, OSError) as error:
            raise click.ClickException(str(error)) from None
        except Exception as error:  # whatever else: still one line, never a traceback
            raise click.ClickException(f"{type(error).__name__}: {error}") from None


@click.group(cls=OneLineErrors, context_settings={"auto_envvar_prefix": "ESIGN"})
@click.option(
    "--stack",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The offline stack's stack.json (default out/stack.json when it exists)",
)
@click.option(
    "--api-url", help="A deployed API's URL; requests are signed with SigV4 from your AWS credentials"
)
@click.option("--stack-name", help="A deployed stack: its ApiUrl output is used, with SigV4")
@click.option("--region", help="AWS region for --api-url / --stack-name")
@click.pass_context
def main(
    ctx: click.Context, stack: Path | None, api_url: str | None, stack_name: str | None, region: str | None
):
    """Start, follow, download, cancel, list and verify signings."""
    ctx.obj = lambda: Client(resolve(stack, api_url, stack_name, region))


def client(ctx: click.Context) -> Client:
    return ctx.obj()


@main.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--title", required=True, help="Shown to the signers")
@click.option(
    "--signer",
    "signer_specs_",
    multiple=True,
    metavar="SPEC",
    help="e-mail, +phone or nin:<number>; combine with commas; once per signer",
)
@click.option("--order", type=click.Choice(["parallel", "sequential"]), default="parallel", show_default=True)
@click.option("--language", help="da, de, en, fi, nb, nn or sv (default: the stack's)")
@click.option("--wait", is_flag=True, help="Watch until the signing ends (exit codes as `status --watch`)")
@click.pass_context
def start(ctx, files, title, signer_specs_, order, language, wait):
    """Start a signing of FILE... (PDF or .txt): inline, or through an upload URL when large."""
    request: dict[str, Any] = {"title": title, "signingOrder": order}
    if signer_specs_:
        request["signers"] = [signer_specs.parse(spec) for spec in signer_specs_]
    if language:
        request["language"] = language
    api = client(ctx)
    signing = api.start(request, [Document.of(path) for path in files])
    out.print(f"signing {signing['signingId']} {signing['state']}")
    out.print(sessions_table(signing))
    if wait:
        ctx.exit(watch(api, signing["signingId"]))


@main.command()
@click.argument("signing_id")
@click.option(
    "--watch", "watching", is_flag=True, help="Update until a final state; exit 0 only for COMPLETED"
)
@click.option("--interval", default=1.0, show_default=True, help="Seconds between looks while watching")
@click.option("--timeout", type=float, help="Give up watching after this many seconds (exit 4)")
@click.pass_context
def status(ctx, signing_id, watching, interval, timeout):
    """The signing and each signer's state (exit 3 if it ended otherwise than COMPLETED)."""
    api = client(ctx)
    if watching:
        ctx.exit(watch(api, signing_id, interval, timeout))
    signing = api.get(signing_id)
    out.print(signing_view(signing))
    ctx.exit(exit_code(signing))


@main.command()
@click.argument("signing_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: <id>.pdf")
@click.pass_context
def download(ctx, signing_id, output):
    """The signed PAdES, its sha256 checked against the record."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    api = client(ctx)
    signing = api.get(signing_id)
    into = output or Path(f"{signing_id}.pdf")
    size = signed_document(signing)["size"]
    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(into.name, total=size)
        digest = api.download(signing, into, lambda n: progress.advance(task, n))
    out.print(f"saved {into} ({into.stat().st_size} bytes, sha256 {digest}: as recorded)")


@main.command()
@click.argument("signing_id")
@click.pass_context
def cancel(ctx, signing_id):
    """Cancel the signing (its links stop working)."""
    signing = client(ctx).cancel(signing_id)
    out.print(f"signing {signing['signingId']} {signing['state']}")


@main.command(name="list")
@click.option("--state", type=click.Choice(STATES))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--cursor", help="Where the previous page ended (it prints the command)")
@click.pass_context
def list_(ctx, state, limit, cursor):
    """Recent signings, newest first."""
    page = client(ctx).list(state, limit, cursor)
    table = Table("signing", "state", "title", "created", "reference")
    for s in page["signings"]:
        table.add_row(s["signingId"], s["state"], s["title"], s["createdAt"], s["externalReference"])
    out.print(table)
    if page.get("nextCursor"):
        more = f"esign list --cursor {page['nextCursor']}" + (f" --state {state}" if state else "")
        out.print(f"more: {more}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM trust roots (default on the offline stack: the emulator's CA)",
)
@click.option("--signers", type=click.IntRange(1), help="How many signatures there must be (default: 1)")
@click.pass_context
def verify(ctx, file, trust, signers):
    """Every signature in FILE: who, when, intact, valid, coverage; exit 1 if any fails."""
    from signing_verification import verdict

    pem = trust.read_bytes() if trust else client(ctx).trust_root()
    found = verdict.verify(file.read_bytes(), verdict.trust_roots(pem), signers or 1)
    for s in found.signers:  # one line each: readable in a narrow terminal, and easy to grep
        who = f"{s.name or 'unnamed'} ({s.certificate or 'no certificate'})"
        out.print(
            f"{s.field}: {who}, signed {s.signedAt or 'at an unknown time'}: intact {_yes(s.intact)}, "
            f"trusted {_yes(s.trusted)}, valid {_yes(s.valid)}, coverage {s.coverage}",
            highlight=False,
        )
    for problem in found.problems:
        out.print(f"problem: {problem}")
    whole = "covers the whole file" if found.coversWholeDocument else "does NOT cover the whole file"
    verdict_line = "VALID" if found.valid else "NOT VALID"
    out.print(f"{verdict_line}: {found.signatures} signature(s), the last {whole}")
    ctx.exit(0 if found.valid else 1)


# -- views -----------------------------------------------------------------------------------------


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


def sessions_table(signing: dict[str, Any]) -> Table:
    table = Table("#", "signer", "state", "signature URL")
    for index, session in enumerate(signing.get("sessions", []), start=1):
        table.add_row(
            str(index),
            signer_specs.describe(session.get("signer")),
            session["state"],
            session["signatureUrl"],
        )
    return table


def signing_view(signing: dict[str, Any]) -> Table:
    summary = Table.grid(padding=(0, 2))
    summary.add_row("signing", signing["signingId"])
    summary.add_row("state", signing["state"])
    summary.add_row("title", signing.get("title", ""))
    summary.add_row("updated", signing.get("updatedAt", ""))
    document = signing.get("signedDocument")
    if document:
        summary.add_row(
            "signed document", f"{document['key']} ({document['size']} bytes, sha256 {document['sha256']})"
        )
    verification = signing.get("verification")
    if verification:
        verdict = "valid" if verification["valid"] else "NOT VALID: " + "; ".join(verification["problems"])
        summary.add_row("verification", f"{verification['signatures']} signature(s), {verdict}")
    if signing.get("failure"):
        summary.add_row("failure", f"{signing['failure']['code']}: {signing['failure']['detail']}")
    summary.add_row("signers", sessions_table(signing))
    return summary


def exit_code(signing: dict[str, Any]) -> int:
    return ENDED_OTHERWISE if signing["state"] in FINAL_STATES - {"COMPLETED"} else 0


def watch(api: Client, signing_id: str, interval: float = 1.0, timeout: float | None = None) -> int:
    """Show the signing live until it is final; its exit code (TIMED_OUT after `timeout` seconds)."""
    from rich.live import Live

    deadline = time.monotonic() + timeout if timeout else None
    signing = api.get(signing_id)
    with Live(signing_view(signing), console=out, auto_refresh=False) as live:
        while signing["state"] not in FINAL_STATES:
            if deadline and time.monotonic() > deadline:
                live.stop()
                err.print(f"signing {signing_id} still {signing['state']} after {timeout} s")
                return TIMED_OUT
            time.sleep(interval)
            signing = api.get(signing_id)
            live.update(signing_view(signing), refresh=True)
    return exit_code(signing)
