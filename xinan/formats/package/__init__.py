"""The sealed package format ``xinan-package/1`` (spec: docs/package.md; sections cited as §n).

Owns: writing a package (:func:`seal_package`, :func:`build_share_package`), checking one
(:func:`verify_package`), opening one after the whole of it verified (:func:`open_package`,
:func:`open_package_keys`), and the key schedule the vault and destruction reuse
(:func:`derive_field_key`, :func:`commit_key`, :func:`open_sealed_value`).

Does not own: primitives (every hash, AEAD, wrap and signature goes through a
:class:`~xinan.crypto.base.CryptoSuite`), key files and the trust store (:mod:`xinan.keys`),
masking and which fields are sealed (:mod:`xinan.policy.catalogue`, :mod:`xinan.masking`), where
output lands on disk (callers write through :func:`xinan.fileio.atomic_writer`).

Layout (issue 10: modules of a few hundred lines; the import path stays
``xinan.formats.package``): :mod:`.schedule` (labels, encodings, key schedule), :mod:`.models`
(frozen models, limits, key protocols), :mod:`.write` (sealing, shares), :mod:`.header`,
:mod:`.records` and :mod:`.read` (the reader, §8).
"""

from xinan.formats.package.header import _parse_header as _parse_header
from xinan.formats.package.header import _read_header as _read_header
from xinan.formats.package.header import _unwrap_package_key as _unwrap_package_key
from xinan.formats.package.models import (
    DEFAULT_LIMITS,
    KemKey,
    KeyedRecord,
    Limits,
    OpenedRecord,
    PackageInfo,
    PackageMeta,
    PublicKeys,
    ReleaseLookup,
    SealRecord,
    SealSummary,
    ShareRecord,
    SignerKey,
    TrustLookup,
)
from xinan.formats.package.read import (
    OpenedPackage,
    open_blocks,
    open_package,
    open_package_keys,
    verify_package,
)
from xinan.formats.package.schedule import (
    AUDIENCES,
    FORMAT,
    INFO_PK,
    L_FC,
    L_FK,
    L_FKW,
    L_PC,
    L_RECIPIENT,
    L_RK,
    L_RW,
    L_SIG,
    L_VALUE,
    NONCE_LEN,
    RELEASE_MODES,
    RELEASE_SECRET_LEN,
    TAG_LEN,
    commit_key,
    derive_field_key,
    enc,
    open_sealed_value,
)
from xinan.formats.package.schedule import (
    _signed_message as _signed_message,
)
from xinan.formats.package.schedule import (
    _trailer_line as _trailer_line,
)
from xinan.formats.package.write import (
    RecordSealer,
    SubmissionWriter,
    build_share_package,
    seal_package,
)
from xinan.formats.package.write import (
    _check_meta as _check_meta,
)
from xinan.formats.package.write import (
    _check_parties as _check_parties,
)
from xinan.formats.package.write import (
    _finish as _finish,
)
from xinan.formats.package.write import (
    _write_header as _write_header,
)

__all__ = [
    "AUDIENCES",
    "DEFAULT_LIMITS",
    "FORMAT",
    "INFO_PK",
    "L_FC",
    "L_FK",
    "L_FKW",
    "L_PC",
    "L_RECIPIENT",
    "L_RK",
    "L_RW",
    "L_SIG",
    "L_VALUE",
    "NONCE_LEN",
    "RELEASE_MODES",
    "RELEASE_SECRET_LEN",
    "TAG_LEN",
    "KemKey",
    "KeyedRecord",
    "Limits",
    "OpenedPackage",
    "OpenedRecord",
    "PackageInfo",
    "PackageMeta",
    "PublicKeys",
    "RecordSealer",
    "ReleaseLookup",
    "SealRecord",
    "SealSummary",
    "ShareRecord",
    "SignerKey",
    "SubmissionWriter",
    "TrustLookup",
    "build_share_package",
    "commit_key",
    "derive_field_key",
    "enc",
    "open_blocks",
    "open_package",
    "open_package_keys",
    "open_sealed_value",
    "seal_package",
    "verify_package",
]
