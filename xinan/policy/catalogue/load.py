"""Public entry points: check or load a policy from text or a file (the built-in default when none
is given).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
from importlib import resources
from pathlib import Path

from xinan.errors import PolicyError, PolicyProblem, UsageError
from xinan.policy.catalogue.locate import _Checker
from xinan.policy.catalogue.model import DEFAULT_POLICY_NAME, Policy
from xinan.policy.catalogue.parse import _parse

# --------------------------------------------------------------------------------------------
# Public entry points


def check_policy_text(
    text: str, source: str = "<memory>"
) -> tuple[Policy | None, list[PolicyProblem]]:
    """Parse and check a policy; return the policy (None when invalid) and every problem."""
    c = _Checker(source, text)
    if not text.isascii():
        try:
            text.encode("utf-8")  # a policy is bound by the digest of its UTF-8 bytes
        except UnicodeEncodeError:
            return None, [PolicyProblem("(file)", "not Unicode text (a lone surrogate)")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        c.problems.append(
            PolicyProblem(
                path="(file)", message=f"not valid TOML: {exc}", line=int(m.group(1)) if m else None
            )
        )
        return None, c.problems
    policy = _parse(c, data)
    return policy, c.problems


@functools.lru_cache(maxsize=16)
def load_policy_text(text: str, source: str = "<memory>") -> Policy:
    """The checked policy of ``text``. Remembered per text and source: a process that loads
    the same file again (a library caller per job, a test per command) gets the same frozen
    policy without parsing and checking it again; an invalid text is never remembered."""
    policy, problems = check_policy_text(text, source)
    if policy is None:
        raise PolicyError(source, problems)
    # the fingerprints name these exact bytes (Policy.fingerprint_for: the vault's hash)
    return dataclasses.replace(policy, raw=text.encode("utf-8"))


def default_policy_path() -> Path:
    """The shipped default policy (package data, the same file as policies/credit-default.toml)."""
    ref = resources.files("xinan") / "data" / DEFAULT_POLICY_NAME
    return Path(str(ref))


def resolve_policy_path(path: str | Path | None) -> Path:
    """``--policy P``, else $XINAN_POLICY, else the built-in default."""
    if path:
        return Path(path)
    env = os.environ.get("XINAN_POLICY")
    return Path(env) if env else default_policy_path()


def read_policy_file(path: str | Path | None) -> tuple[Path, str]:
    p = resolve_policy_path(path)
    try:
        return p, p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"policy file not found: {p}", hint="pass --policy FILE or set XINAN_POLICY"
        ) from None
    except UnicodeDecodeError:
        raise PolicyError(str(p), [PolicyProblem("(file)", "policy files must be UTF-8")]) from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and check a policy file (``None``: $XINAN_POLICY or the built-in default)."""
    p, text = read_policy_file(path)
    return load_policy_text(text, str(p))
