"""Process hardening that every entry point applies before it touches a secret.

Owns :func:`disable_core_dumps`: a core dump of a running command would hold the passphrase
and the unlocked private key seeds (issue 11; GB/T 22239-2019 8.1.4.8, residual information).
The CLI calls it first thing (``xinan.cli._app.main``) and the keyring calls it before it
decrypts a key (``Keyring.unlock`` / ``Keyring.secret``), so a program that embeds xinan is
covered as soon as it unlocks a key.
"""

from __future__ import annotations

__all__ = ["disable_core_dumps"]


def disable_core_dumps() -> bool:
    """Set this process's core-file size limit (the soft limit, the one the kernel applies
    when it would write a core file) to 0; children inherit it.

    The hard limit is left alone: lowering it cannot be undone without privilege and would
    bind every later program of the process; raising the soft limit again needs code running
    in the process, which could read the keys directly anyway. Returns ``True`` when core
    dumps are off afterwards, ``False`` where the platform has no ``RLIMIT_CORE`` (Windows).
    Idempotent and cheap: call it wherever secrets are unlocked.
    """
    try:
        import resource
    except ImportError:  # Windows: no core files to switch off
        return False
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if soft != 0:
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    return resource.getrlimit(resource.RLIMIT_CORE)[0] == 0
