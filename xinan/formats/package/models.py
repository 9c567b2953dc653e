"""``xinan-package/1`` frozen models and parser limits (docs/package.md §3, §4, §8)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from xinan.crypto.base import PrivateKey, SuiteName
from xinan.errors import (
    InputError,
    IntegrityError,
)


@dataclass(frozen=True)
class Limits:
    """Parser limits (§8). Every one is enforced before the work it bounds."""

    max_header_bytes: int = 1 << 20
    max_line_bytes: int = 1 << 20
    max_recipients: int = 16
    max_fields: int = 256
    max_records: int = 1_000_000_000
    max_name_chars: int = 128
    max_record_id_chars: int = 256
    max_key_id_chars: int = 128
    max_wrapped_bytes: int = 8192


DEFAULT_LIMITS = Limits()


# -- key protocols: xinan.keys.Identity and xinan.keys.PublicKeyInfo satisfy them -----------
class SignerKey(Protocol):
    """The sender: a key id and its private signing key handle (``keys.Identity``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def signing(self) -> PrivateKey: ...


class KemKey(Protocol):
    """An opener: a key id and its private KEM (unwrapping) key handle (``keys.Identity``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def kem(self) -> PrivateKey: ...


class PublicKeys(Protocol):
    """Another party's public keys, as the trust store holds them (``keys.PublicKeyInfo``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def suite(self) -> SuiteName: ...

    @property
    def sig(self) -> bytes: ...

    @property
    def kem(self) -> bytes: ...


TrustLookup = Callable[[str], PublicKeys | None]  # key id -> keys; None or KeyringError
# (share package id hex, record id) -> R, or None: the platform withheld that record (§6.3)
ReleaseLookup = Callable[[str, str], bytes | None]


# -- models ---------------------------------------------------------------------------------
class SealRecord(NamedTuple):
    """One record to seal: values aligned with ``PackageMeta.clear_fields``/``sealed_fields``.

    A NamedTuple rather than a dataclass: it is built once per record on the hot path.
    """

    record_id: str
    clear: Sequence[str]
    sealed: Sequence[str]

    @classmethod
    def from_mapping(cls, record_id: str, values: dict[str, str], meta: PackageMeta) -> SealRecord:
        """Pick the header's fields out of a mapping; a missing field is an InputError."""
        try:
            return cls(
                record_id,
                [values[n] for n in meta.clear_fields],
                [values[n] for n in meta.sealed_fields],
            )
        except KeyError as e:
            raise InputError(f"record {record_id!r}: field {e.args[0]!r} missing") from None


class OpenedRecord(NamedTuple):
    """A record after opening: sealed values in the header's order (None = not in a share)."""

    position: int  # 0-based place in the package
    record_id: str
    source_package_id: str
    clear: tuple[str, ...]
    sealed: tuple[str | None, ...]


class KeyedRecord(NamedTuple):
    """A verified record with its keys and raw ``C ‖ E`` blobs, no plaintext (vault ingest,
    share building). ``record_key`` is None in a share (a share never carries one)."""

    position: int  # 0-based place in the package
    record_id: str
    source_package_id: str
    clear: tuple[str, ...]
    blobs: tuple[bytes | None, ...]
    field_keys: tuple[bytes | None, ...]
    record_key: bytes | None


class ShareRecord(NamedTuple):
    """One record for a share (§6): the original blobs and field keys of the granted fields,
    aligned with the share's ``sealed_fields`` (None = not granted for this record)."""

    record_id: str
    source_package_id: str
    clear: Sequence[str]
    blobs: Sequence[bytes | None]
    field_keys: Sequence[bytes | None]
    release_secret: bytes | None = None


@dataclass(frozen=True)
class PackageMeta:
    """What the sender states in the header besides keys (§3)."""

    policy_id: str
    policy_version: str
    kind: str
    clear_fields: tuple[str, ...]
    sealed_fields: tuple[str, ...]


@dataclass(frozen=True)
class SealSummary:
    package_id: str
    suite: SuiteName
    audience: str
    count: int
    records_digest: bytes
    wraps: int  # asymmetric wraps done (one per recipient)
    signatures: int  # always 1


@dataclass(frozen=True)
class PackageInfo:
    """A verified package's header and trailer facts."""

    package_id: str
    suite: SuiteName
    audience: str
    created: str
    sender: str
    policy_id: str
    policy_version: str
    kind: str
    grant: str | None
    release: str
    clear_fields: tuple[str, ...]
    sealed_fields: tuple[str, ...]
    recipients: tuple[str, ...]
    key_commitment: bytes = field(repr=False)
    count: int = 0
    records_digest: bytes = b""

    def check_same(self, opened: PackageInfo) -> None:
        """Raise unless ``opened`` (another read of a package) is the package this one was
        verified as: same id and same records. A file swapped or rewritten between the pass
        that was verified and logged and the pass that decrypts must release nothing
        (issue 11: one snapshot per operation)."""
        if (opened.package_id, opened.records_digest, opened.count) != (
            self.package_id,
            self.records_digest,
            self.count,
        ):
            raise IntegrityError(
                "package changed while it was being opened: the records decrypted are not "
                "those verified and logged",
                hint="nothing was written; keep the package where no one else can change it "
                "and open it again",
            )
