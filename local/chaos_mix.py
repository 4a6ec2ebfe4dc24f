"""The chaos run's mix: what each signing is put through, decided per signing from the run's seed, done the way
real signers and callers do it, and the final state that what was done calls for.

A signing starts through the API or the drop folder (names that clash: `clash-<k>.pdf` dropped twice beside
`clash-<k>.txt`), has one to three signers who sign in parallel or in sequence, and then either everyone signs,
one signer rejects, or the caller cancels (DELETE /signings/{id}) before, together with, or after the last
signature. What the run did decides the expected final state: everyone signed → COMPLETED; a rejection →
REJECTED; a cancel the API answered 200 → CANCELLED, 409 → it completes (its signers all signed).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

COMPLETED, REJECTED, CANCELLED = "COMPLETED", "REJECTED", "CANCELLED"
SIGN, REJECT, CANCEL = "sign", "reject", "cancel"
# When the cancel is sent, relative to the last signature.
CANCEL_BEFORE, CANCEL_RACING, CANCEL_AFTER = "before", "racing", "after"
ORIGIN_API, ORIGIN_DROP = "api", "drop"
DROP_SHARE = 0.25
OUTCOME_WEIGHTS = {SIGN: 0.45, REJECT: 0.20, CANCEL: 0.35}
RACE_WINDOW = 0.6  # seconds: about what a cancel takes through the API, so either side may win
CANCEL_AFTER_DELAY = 1.0  # seconds after the last signature: the signing is being packaged or stored
DROP_RECEIPT_TIMEOUT = 600  # seconds for a drop's receipt: a failed intake comes back after 30 s
DELETE_ATTEMPTS = 8
RETRYABLE = {429, 500, 502, 503, 504}
HTTP_TIMEOUT = 60


@dataclass(frozen=True)
class Plan:
    """What the run does to one signing."""

    origin: str
    signers: int
    order: str  # signingOrder: parallel or sequential
    outcome: str  # sign, reject or cancel
    rejecter: int = 0  # which signer rejects (the ones before sign first)
    cancel_timing: str | None = None
    race_delay: float = 0.0  # racing: the last signer signs this long after the cancel was sent
    drop_name: str | None = None  # incoming/<drop_name>


def plan_mix(count: int, seed: int) -> list[Plan]:
    """Every signing's plan, from `seed` alone (so a run can be repeated)."""
    rng = random.Random(seed)  # nosec B311 - seeded so a chaos run replays; no secret drawn
    plans, drops = [], 0
    for _ in range(count):
        signers = rng.randint(1, 3)
        order = rng.choice(["parallel", "sequential"])
        outcome = rng.choices(list(OUTCOME_WEIGHTS), weights=list(OUTCOME_WEIGHTS.values()))[0]
        origin = ORIGIN_DROP if rng.random() < DROP_SHARE else ORIGIN_API
        drop_name = None
        if origin == ORIGIN_DROP:
            # clash-<k>.pdf, clash-<k>.txt, clash-<k>.pdf again: one stem for three drops.
            drop_name = f"clash-{drops // 3}.{('pdf', 'txt', 'pdf')[drops % 3]}"
            drops += 1
        plans.append(
            Plan(
                origin=origin,
                signers=signers,
                order=order,
                outcome=outcome,
                rejecter=rng.randrange(signers) if outcome == REJECT else 0,
                cancel_timing=rng.choice([CANCEL_BEFORE, CANCEL_RACING, CANCEL_AFTER])
                if outcome == CANCEL
                else None,
                race_delay=round(rng.uniform(0, RACE_WINDOW), 3),
                drop_name=drop_name,
            )
        )
    return plans


@dataclass
class Cancel:
    """The caller's DELETE /signings/{id}: every answer, the last one decides."""

    answers: list[int] = field(default_factory=list)
    detail: str | None = None

    @property
    def decided(self) -> int | None:
        final = [status for status in self.answers if status not in RETRYABLE and status != 0]
        return final[-1] if final else None


def expected_states(plan: Plan, cancel: Cancel | None) -> set[str]:
    """The final states the run's actions allow (one, unless a cancel never got an answer that decides)."""
    if plan.outcome == SIGN:
        return {COMPLETED}
    if plan.outcome == REJECT:
        return {REJECTED}
    decided = cancel.decided if cancel else None
    if decided == 200:
        return {CANCELLED}
    if decided == 409:
        return {COMPLETED}
    return {CANCELLED, COMPLETED}


def mix_counts(plans: list[Plan], cancels: list[Cancel | None]) -> dict[str, int]:
    """How many signings of each kind ran; a drop name seen before counts as dropped again."""
    counts: Counter[str] = Counter()
    seen_names, seen_stems = set(), set()
    for plan, cancel in zip(plans, cancels, strict=True):
        counts[f"origin.{plan.origin}"] += 1
        counts[f"signers.{plan.signers}"] += 1
        if plan.signers > 1:
            counts[f"order.{plan.order}"] += 1
        counts[f"outcome.{plan.outcome}"] += 1
        if plan.outcome == REJECT:
            counts["reject.firstSigner" if plan.rejecter == 0 else "reject.afterOthersSigned"] += 1
        if plan.cancel_timing:
            counts[f"cancel.{plan.cancel_timing}LastSignature"] += 1
            decided = cancel.decided if cancel else None
            counts[f"cancel.answered{decided or 'Nothing'}"] += 1
        if plan.drop_name:
            stem, _, extension = plan.drop_name.rpartition(".")
            if plan.drop_name in seen_names:
                counts["drop.sameNameAgain"] += 1
            elif stem in seen_stems:
                counts["drop.otherExtensionSameStem"] += 1
            counts[f"drop.{extension}"] += 1
            seen_names.add(plan.drop_name)
            seen_stems.add(stem)
    return dict(sorted(counts.items()))


def drop_metadata(plan: Plan, index: int, external_reference: str) -> dict[str, str]:
    return {
        "title": f"Chaos drop {index}",
        "signers": ";".join(signer_emails(plan, index)),
        "signing-order": plan.order,
        "external-reference": external_reference,
    }


def signer_emails(plan: Plan, index: int) -> list[str]:
    return [f"signer{index}-{number}@example.com" for number in range(plan.signers)]


def drop_body(plan: Plan, pdf: bytes, index: int) -> bytes:
    if plan.drop_name and plan.drop_name.endswith(".txt"):
        return f"Chaos agreement {index}\nDropped as text, signed as a PDF.\n".encode()
    return pdf


def find_receipt(s3: Any, bucket: str, name: str, external_reference: str) -> dict | None:
    """The receipt under receipts/<name>/ of the drop carrying `external_reference` (a name is dropped often)."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"receipts/{name}/").get("Contents", [])
    for entry in listed:
        body = json.loads(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
        if body.get("externalReference") == external_reference:
            return body
    return None


def wait_for_receipt(s3: Any, bucket: str, name: str, external_reference: str) -> dict | None:
    deadline = time.monotonic() + DROP_RECEIPT_TIMEOUT
    while time.monotonic() < deadline:
        found = find_receipt(s3, bucket, name, external_reference)
        if found:
            return found
        time.sleep(1)
    return None


class Signers:
    """The signers' and the caller's side of one signing, after it started: signs, a rejection, a cancel.

    Plain requests calls, no shared session: a racing cancel runs in a thread of its own.
    """

    def __init__(self, api_url: str, emulator_url: str) -> None:
        self.api_url = api_url
        self.emulator_url = emulator_url

    def act(self, plan: Plan, signing_id: str, session_ids: list[str]) -> tuple[Cancel | None, list[str]]:
        """Carry the plan out; answers the cancel (if any) and what the emulator refused the signers."""
        refused: list[str] = []
        if plan.outcome == SIGN:
            for session_id in session_ids:
                self._session(session_id, "sign", refused)
            return None, refused
        if plan.outcome == REJECT:
            for session_id in session_ids[: plan.rejecter]:
                self._session(session_id, "sign", refused)
            self._session(session_ids[plan.rejecter], "reject", refused)
            return None, refused
        *first, last = session_ids
        for session_id in first:
            self._session(session_id, "sign", refused)
        cancel = Cancel()
        if plan.cancel_timing == CANCEL_BEFORE:
            self.cancel(signing_id, cancel)
            self._session(last, "sign", refused)  # refused once the cancel deleted the sessions
        elif plan.cancel_timing == CANCEL_RACING:
            racing = threading.Thread(target=self.cancel, args=(signing_id, cancel), daemon=True)
            racing.start()
            time.sleep(plan.race_delay)
            self._session(last, "sign", refused)
            racing.join()
        else:
            self._session(last, "sign", refused)
            time.sleep(CANCEL_AFTER_DELAY)
            self.cancel(signing_id, cancel)
        return cancel, refused

    def _session(self, session_id: str, action: str, refused: list[str]) -> None:
        url = f"{self.emulator_url}/_emulator/signing-sessions/{session_id}/{action}"
        answer = requests.post(url, timeout=HTTP_TIMEOUT)
        if answer.status_code in (404, 409):  # the session was deleted (cancelled) or is no longer READY
            refused.append(f"{action} {session_id}: {answer.status_code}")
            return
        answer.raise_for_status()

    def cancel(self, signing_id: str, cancel: Cancel) -> None:
        """DELETE /signings/{id}, retried on 5xx and 429 as a careful caller would (a cancel is idempotent)."""
        for attempt in range(DELETE_ATTEMPTS):
            try:
                answer = requests.delete(f"{self.api_url}/signings/{signing_id}", timeout=HTTP_TIMEOUT)
            except requests.RequestException as error:
                cancel.answers.append(0)
                cancel.detail = str(error)
            else:
                cancel.answers.append(answer.status_code)
                cancel.detail = answer.text[:300]
                if answer.status_code not in RETRYABLE:
                    return
            time.sleep(min(4.0, 0.25 * 2**attempt))
