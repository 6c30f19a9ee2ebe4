"""Privacy's cost: create with pseudonymous user ids and one encrypted metadata key,
against create without them, in the same run."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.store import make_entry
from benchmarks.timing import compare
from orchestrator_feedback import FeedbackEntry, FeedbackStorage, PrivacyPolicy


def _entry() -> FeedbackEntry:
    entry = make_entry()
    entry.metadata["diagnosis"] = {"code": "E42", "notes": "private detail"}
    return entry


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the privacy benchmark; return the printable lines."""
    rounds = 3 if quick else 7
    policy = PrivacyPolicy(
        anonymize_user_ids=True,
        secret="benchmark-secret",
        encrypt_metadata_keys=["diagnosis"],
        encryption_keys=[Fernet.generate_key().decode()],
    )
    private = FeedbackStorage(workdir / "private.db", privacy=policy)
    plain = FeedbackStorage(workdir / "plain.db")
    count = rounds * 700 + 200
    private_entries = iter([_entry() for _ in range(count)])
    plain_entries = iter([_entry() for _ in range(count)])
    try:
        return [
            compare(
                "create, anonymised + 1 encrypted key",
                lambda: private.create(next(private_entries)),
                lambda: plain.create(next(plain_entries)),
                calls=500,
                rounds=rounds,
                limit=1.5,
            ).line()
        ]
    finally:
        private.close()
        plain.close()
