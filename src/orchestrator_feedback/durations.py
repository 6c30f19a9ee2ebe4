"""Durations written as people write them: ``90d``, ``12h``, ``30m``, ``2w``, ``45s``."""

from __future__ import annotations

import re
from datetime import timedelta

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.privacy import MAX_RETENTION_DAYS

__all__ = ["DURATION", "parse_duration"]

DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
"""A whole number and a unit: s, m, h, d or w."""
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PER_DAY = {"s": 86_400, "m": 1_440, "h": 24, "d": 1, "w": 1 / 7}


def parse_duration(text: object, field: str = "duration") -> timedelta:
    """``text`` (such as ``7d``) as a timedelta of at most ``MAX_RETENTION_DAYS``
    days; ``FeedbackValidationError`` naming ``field`` otherwise."""
    match = DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise FeedbackValidationError(field, text, "must be a duration such as 90d, 12h, 30m or 2w")
    number = int(match.group(1))
    if number > MAX_RETENTION_DAYS * _PER_DAY[match.group(2)]:
        raise FeedbackValidationError(field, text, f"must be at most {MAX_RETENTION_DAYS:,} days")
    return timedelta(**{_UNITS[match.group(2)]: number})
