"""hazmat: the low-level layer, and the only importer of primitives in xinan.

Everything that imports ``cryptography``, ``gmalg``, ``hashlib`` or ``hmac`` lives in this
package (a test walks the syntax tree of every module to keep it so:
tests/crypto/test_crypto_fence.py). Here an AEAD takes an explicit nonce, a hash is named by string
and nothing checks the compliance mode: misuse is easy. So only :mod:`xinan.crypto` imports
this package; the rest of xinan calls the suites through :func:`xinan.crypto.get_suite` and
the recipes of :mod:`xinan.crypto.recipes` (docs/crypto.md, "Layers").

Modules: :mod:`.intl` (intl and pq suites), :mod:`.gm` (the 国密 suite), :mod:`.primitives`
(hashes by name, HMAC, password KDFs), :mod:`._soft` (the software private key handle).
"""
