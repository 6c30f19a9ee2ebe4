"""Privacy policies: pseudonymous user ids, encrypted metadata values, retention ages.

The storage applies a ``PrivacyPolicy`` to every row on its way in (``protect_row``)
and to every entry on its way out (``reveal``), and to user ids given as filters, so
the API and the command line take the original user id wherever one is asked for.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import orjson

from orchestrator_feedback.errors import FeedbackError, FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry, FeedbackType

__all__ = [
    "ENCRYPTED_MARKER",
    "ENV_ENCRYPTION_KEYS",
    "ENV_SECRET",
    "PSEUDONYM_PREFIX",
    "PrivacyPolicy",
    "RetentionPolicy",
    "check_retention_days",
]

ENV_SECRET = "ORCHESTRATOR_FEEDBACK_SECRET"
ENV_ENCRYPTION_KEYS = "ORCHESTRATOR_FEEDBACK_ENCRYPTION_KEYS"
PSEUDONYM_PREFIX = "anon:"
ENCRYPTED_MARKER = "[encrypted: no key to read it]"
"""What an encrypted metadata value reads as when no decryption key is configured."""
_TOKEN_KEY = "$encrypted"


_PSEUDONYMS_REMEMBERED = 10_000
_LEGACY_PSEUDONYM = re.compile(r"anon:[0-9a-f]{64}")


class PrivacyPolicy:
    """Pseudonymise user ids (keyed HMAC-SHA256) and encrypt chosen metadata values (Fernet).

    ``secret``: the HMAC key (required when ``anonymize_user_ids``). ``encryption_keys``:
    Fernet keys, the first encrypts and all decrypt, so keys can be rotated; without any,
    encrypted values read as ``ENCRYPTED_MARKER`` and writing one is an error.
    """

    def __init__(
        self,
        *,
        anonymize_user_ids: bool = False,
        secret: str | bytes | None = None,
        encrypt_metadata_keys: Sequence[str] = (),
        encryption_keys: Sequence[str] = (),
    ) -> None:
        if anonymize_user_ids and not secret:
            raise FeedbackError(
                f"privacy.anonymize_user_ids is on but no secret is set: export {ENV_SECRET}=... "
                "(user ids are never stored in plain text instead)"
            )
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._pseudonyms: dict[str, str] = {}
        self.anonymize_user_ids = anonymize_user_ids
        self.encrypted_keys = frozenset(encrypt_metadata_keys)
        self._fernet: Any = None
        if self.encrypted_keys and encryption_keys:
            try:
                from cryptography.fernet import Fernet, MultiFernet
            except ImportError:
                raise FeedbackError(
                    "privacy.encrypt_metadata_keys needs its extra: "
                    "pip install 'orchestrator-feedback[crypto]'"
                ) from None
            try:
                self._fernet = MultiFernet([Fernet(key.strip()) for key in encryption_keys])
            except ValueError as error:
                raise FeedbackError(
                    f"{ENV_ENCRYPTION_KEYS} holds an invalid Fernet key: {error}"
                ) from None

    @classmethod
    def from_environment(
        cls, *, anonymize_user_ids: bool, encrypt_metadata_keys: Sequence[str]
    ) -> PrivacyPolicy:
        """Build a policy whose secret and keys come from the environment."""
        keys = [k for k in os.environ.get(ENV_ENCRYPTION_KEYS, "").split(",") if k.strip()]
        secret = os.environ.get(ENV_SECRET)
        return cls(
            anonymize_user_ids=anonymize_user_ids,
            # The variable's bytes as the shell gave them (UTF-8 or not): the HMAC key.
            secret=None if secret is None else os.fsencode(secret),
            encrypt_metadata_keys=encrypt_metadata_keys,
            encryption_keys=keys,
        )

    @property
    def active(self) -> bool:
        """Whether the policy changes anything at all."""
        return self.anonymize_user_ids or bool(self.encrypted_keys)

    @functools.cached_property
    def key_id(self) -> str:
        """Eight hex digits that name the secret without revealing it: every pseudonym
        carries it, so pseudonyms made with another secret are recognised."""
        assert self._secret is not None
        return hmac.new(self._secret, b"orchestrator-feedback key id", hashlib.sha256).hexdigest()[
            :8
        ]

    def _tag(self, digest: str) -> str:
        assert self._secret is not None
        return hmac.new(self._secret, b"tag:" + digest.encode(), hashlib.sha256).hexdigest()[:8]

    def is_own_pseudonym(self, value: str) -> bool:
        """Whether ``value`` is a pseudonym this secret made (its tag checks out), so that it
        is stored as it is. A caller cannot forge one without the secret: a user id that
        merely starts with ``anon:`` is pseudonymised like any other."""
        prefix = f"{PSEUDONYM_PREFIX}k{self.key_id}:"
        if not value.startswith(prefix) or len(value) != len(prefix) + 40:
            return False
        digest, tag = value[len(prefix) : -8], value[-8:]
        return hmac.compare_digest(tag, self._tag(digest))

    def pseudonym(self, user_id: str | None) -> str | None:
        """The stored form of ``user_id``: the same user always gets the same pseudonym,
        ``anon:k<key id>:<32 hex digits of HMAC-SHA256(secret, user id)><8 hex tag>``.

        A pseudonym this secret made is returned as it is (an entry read back and
        updated); so is one in the earlier form (``anon:`` and 64 hex digits), which
        holds no user id to protect.
        """
        if user_id is None or not self.anonymize_user_ids:
            return user_id
        pseudonym = self._pseudonyms.get(user_id)
        if pseudonym is None:
            if self.is_own_pseudonym(user_id) or _LEGACY_PSEUDONYM.fullmatch(user_id):
                return user_id
            assert self._secret is not None
            digest = hmac.new(self._secret, user_id.encode(), hashlib.sha256).hexdigest()[:32]
            pseudonym = f"{PSEUDONYM_PREFIX}k{self.key_id}:{digest}{self._tag(digest)}"
            # Users repeat: remember the first few thousand rather than hash on every write.
            if len(self._pseudonyms) < _PSEUDONYMS_REMEMBERED:
                self._pseudonyms[user_id] = pseudonym
        return pseudonym

    def legacy_pseudonym(self, user_id: str) -> str:
        """The earlier form of ``user_id``'s pseudonym (``anon:`` and the whole digest),
        which ``forget_user`` erases too."""
        assert self._secret is not None
        return (
            PSEUDONYM_PREFIX + hmac.new(self._secret, user_id.encode(), hashlib.sha256).hexdigest()
        )

    def protect_row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """An ``EncodedRow`` as it may be stored: user id pseudonymised, values encrypted."""
        user_id = self.pseudonym(row[5])
        metadata_text = row[6]
        if self.encrypted_keys and metadata_text != "{}":
            metadata = orjson.loads(metadata_text)
            if not self.encrypted_keys.isdisjoint(metadata):
                metadata_text = orjson.dumps(self._encrypt_values(metadata)).decode()
        return (*row[:5], user_id, metadata_text, *row[7:])

    def _encrypt_values(self, metadata: dict[str, Any]) -> dict[str, Any]:
        if self._fernet is None:
            raise FeedbackError(
                f"metadata keys {sorted(self.encrypted_keys & set(metadata))} must be encrypted "
                f"but no key is configured: set {ENV_ENCRYPTION_KEYS}"
            )
        for key in self.encrypted_keys.intersection(metadata):
            if metadata[key] == ENCRYPTED_MARKER:
                # Read back without the key that encrypted it: writing it would put the
                # placeholder over the real value for good.
                raise FeedbackError(
                    f"metadata.{key} holds {ENCRYPTED_MARKER!r}: the entry was read without "
                    f"the key that encrypted it, and writing it back would destroy the value; "
                    f"add that key to {ENV_ENCRYPTION_KEYS}"
                )
            token = self._fernet.encrypt(orjson.dumps(metadata[key])).decode()
            metadata[key] = {_TOKEN_KEY: token}
        return metadata

    def unreadable(self, entry: FeedbackEntry) -> bool:
        """Whether a revealed entry holds an encrypted value that could not be read."""
        metadata = entry.metadata
        return any(
            metadata[key] == ENCRYPTED_MARKER for key in self.encrypted_keys & metadata.keys()
        )

    def reveal(self, entries: list[FeedbackEntry]) -> list[FeedbackEntry]:
        """Decrypt encrypted metadata values in place (or mark them, without a key)."""
        if not self.encrypted_keys:
            return entries
        for entry in entries:
            metadata = entry.metadata
            for key in self.encrypted_keys.intersection(metadata):
                value = metadata[key]
                if isinstance(value, dict) and _TOKEN_KEY in value:
                    metadata[key] = self._decrypt(value[_TOKEN_KEY])
        return entries

    def _decrypt(self, token: str) -> Any:
        if self._fernet is None:
            return ENCRYPTED_MARKER
        from cryptography.fernet import InvalidToken

        try:
            return orjson.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            return ENCRYPTED_MARKER


MAX_RETENTION_DAYS = 100_000
"""The longest retention age accepted, in days (about 270 years): any longer reaches back
before the year 1, where dates end."""


def check_retention_days(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: each retention age (one, or one per type) is a whole number of
    days from 1 to ``MAX_RETENTION_DAYS``; the error names the field (and the type)."""
    if value is None:
        return
    ages = value.items() if isinstance(value, Mapping) else [(None, value)]
    for feedback_type, days in ages:
        field = attribute.name
        if feedback_type is not None:
            field += f".{getattr(feedback_type, 'value', feedback_type)}"
        if type(days) is not int or not 1 <= days <= MAX_RETENTION_DAYS:
            raise FeedbackValidationError(
                field,
                days,
                f"must be a whole number of days from 1 to {MAX_RETENTION_DAYS:,} "
                "(0 or less would delete entries made today)",
            )


@attrs.frozen(kw_only=True)
class RetentionPolicy:
    """How long feedback is kept: a maximum age, with per-type overrides (in days)."""

    max_age_days: int | None = attrs.field(default=None, validator=check_retention_days)
    """Entries older than this go; None keeps them (unless their type has an override)."""
    by_type: Mapping[FeedbackType, int] = attrs.field(factory=dict, validator=check_retention_days)
    """Per-type maximum ages, overriding ``max_age_days``."""

    def cutoffs(self, now: datetime | None = None) -> list[tuple[FeedbackType, datetime]]:
        """``(type, created before this goes)`` for every type the policy limits."""
        now = now or datetime.now(UTC)
        result = []
        for feedback_type in FeedbackType:
            days = self.by_type.get(feedback_type, self.max_age_days)
            if days is not None:
                result.append((feedback_type, now - timedelta(days=days)))
        return result

    @property
    def active(self) -> bool:
        """Whether the policy removes anything."""
        return self.max_age_days is not None or bool(self.by_type)
