"""The chaos run's mix: the seed decides it, and what was done decides the final state expected."""

from __future__ import annotations

import pytest

from local import chaos_mix
from local.chaos_mix import Cancel, Plan


def test_the_seed_alone_decides_the_mix():
    assert chaos_mix.plan_mix(200, 7) == chaos_mix.plan_mix(200, 7)
    assert chaos_mix.plan_mix(200, 7) != chaos_mix.plan_mix(200, 8)


def test_drop_names_clash_by_name_and_by_stem():
    names = [plan.drop_name for plan in chaos_mix.plan_mix(200, 7) if plan.drop_name]

    assert names[:6] == [
        "clash-0.pdf",
        "clash-0.txt",
        "clash-0.pdf",
        "clash-1.pdf",
        "clash-1.txt",
        "clash-1.pdf",
    ]


@pytest.mark.parametrize(
    ("plan", "answers", "expected"),
    [
        (Plan("api", 2, "parallel", chaos_mix.SIGN), None, {"COMPLETED"}),
        (Plan("drop", 3, "sequential", chaos_mix.REJECT, rejecter=1), None, {"REJECTED"}),
        (Plan("api", 1, "parallel", chaos_mix.CANCEL, cancel_timing="racing"), [502, 200], {"CANCELLED"}),
        (Plan("api", 1, "parallel", chaos_mix.CANCEL, cancel_timing="after"), [429, 409], {"COMPLETED"}),
        (
            Plan("api", 1, "parallel", chaos_mix.CANCEL, cancel_timing="before"),
            [502] * 8,
            {"CANCELLED", "COMPLETED"},
        ),
    ],
)
def test_what_was_done_decides_the_final_state(plan, answers, expected):
    cancel = Cancel(answers=answers) if answers is not None else None

    assert chaos_mix.expected_states(plan, cancel) == expected


def test_the_mix_counts_each_kind_once_per_signing():
    plans = [
        Plan("drop", 1, "parallel", chaos_mix.SIGN, drop_name="clash-0.pdf"),
        Plan("drop", 2, "sequential", chaos_mix.REJECT, rejecter=1, drop_name="clash-0.txt"),
        Plan("drop", 3, "parallel", chaos_mix.CANCEL, cancel_timing="racing", drop_name="clash-0.pdf"),
    ]
    mix = chaos_mix.mix_counts(plans, [None, None, Cancel(answers=[200])])

    assert mix == {
        "cancel.answered200": 1,
        "cancel.racingLastSignature": 1,
        "drop.otherExtensionSameStem": 1,
        "drop.pdf": 2,
        "drop.sameNameAgain": 1,
        "drop.txt": 1,
        "order.parallel": 1,
        "order.sequential": 1,
        "origin.drop": 3,
        "outcome.cancel": 1,
        "outcome.reject": 1,
        "outcome.sign": 1,
        "reject.afterOthersSigned": 1,
        "signers.1": 1,
        "signers.2": 1,
        "signers.3": 1,
    }
