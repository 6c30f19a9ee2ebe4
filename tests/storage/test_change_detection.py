"""The change detectors alone (``storage/change_detection.py``): pure, seeded."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from orchestrator_feedback.storage.change_detection import (
    DEGRADED,
    RECOVERED,
    Detector,
    Sums,
    threshold,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_threshold_grows_with_the_run_length_asked_and_the_divergence() -> None:
    assert threshold(1_000, 0.2) < threshold(10_000, 0.2) < threshold(100_000, 0.2)
    assert threshold(10_000, 0.05) < threshold(10_000, 0.5)
    # Wald: (e^h - h - 1) / K = ARL / 2
    h = threshold(10_000, 0.2)
    assert abs((2.718281828459045**h - h - 1) / 0.2 - 5_000) / 5_000 < 0.02


def test_one_stray_rating_raises_nothing_but_a_fall_does() -> None:
    detector = Detector("rating")
    for n in range(200):
        assert detector.hear(float(5 - n % 2), NOW, 10_000, 20) is None
    assert detector.hear(1.0, NOW, 10_000, 20) is None  # a 1-star among 4s and 5s
    changes = [detector.hear(float(3 - n % 2), NOW, 10_000, 20) for n in range(20)]
    raised = [change for change in changes if change is not None]
    assert [change.kind for change in raised] == [DEGRADED]
    assert raised[0].before.mean > 4.3 and raised[0].after.mean < 3.0


def test_a_worker_is_degraded_then_recovered_and_the_kinds_alternate() -> None:
    """95% -> 50% for 200 outcomes -> 95% again, 20 seeds: each raises ``degraded`` within
    40 outcomes of the change and ``recovered`` within 60 of the return, except the few a
    false alarm (at the configured rate) disturbs; the kinds always alternate."""
    clean = 0
    for seed in range(20):
        rng = random.Random(seed)
        detector = Detector("success")
        raised = []
        for n, rate in enumerate([0.95] * 500 + [0.5] * 200 + [0.95] * 500):
            change = detector.hear(1.0 if rng.random() < rate else 0.0, NOW, 100_000, 20)
            if change is not None:
                raised.append((change.kind, n))
        kinds = [kind for kind, _n in raised]
        assert kinds == [DEGRADED, RECOVERED] * (len(kinds) // 2) + [DEGRADED] * (len(kinds) % 2)
        if len(raised) == 2 and 500 <= raised[0][1] < 540 and 700 <= raised[1][1] < 760:
            clean += 1
    assert clean >= 18


def test_no_alarm_before_the_reference_rests_on_enough_outcomes() -> None:
    detector = Detector("success")
    assert all(detector.hear(0.0, NOW, 10_000, 20) is None for _ in range(5))
    alone = Detector("success")
    peers = Sums()
    for _ in range(100):
        peers.add(1.0)
    raised = [alone.hear(0.0, NOW, 10_000, 20, peers=peers) for _ in range(10)]
    assert any(change is not None for change in raised)  # its peers never fail


@pytest.mark.parametrize("rate", [0.7, 0.95, 0.999])
def test_a_steady_worker_rarely_alarms(rate: float) -> None:
    rng = random.Random(7)
    detector, alarms = Detector("success"), 0
    for _ in range(20_000):
        if detector.hear(1.0 if rng.random() < rate else 0.0, NOW, 10_000, 20) is not None:
            alarms += 1
            detector = Detector("success")
    assert alarms <= 6  # at most 2 per 10,000 on this seed (make bench measures the rate)
