"""What the executors receive (issue 14 §3): the function Spark ships to them carries the
job's data keys and key ids — never a private key, a passphrase or a keyring object."""

from __future__ import annotations

import io
import pickle
from datetime import UTC, datetime

import pytest

from tests.conftest import TODAY
from xinan.keys import KdfParams, Keyring
from xinan.spark.frames import executor_keys, plan_stage, policy_text
from xinan.spark.stage import EngineStage

PASS = "correct horse battery staple 14"
# modules whose classes may appear in the pickled stage: xinan's Spark stage and plain values
ALLOWED = ("xinan.spark.", "xinan.crypto.base", "datetime", "builtins", "copyreg", "_codecs")


class _Classes(pickle.Unpickler):
    """Records every class the pickle names, and refuses any outside ALLOWED."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.seen: set[str] = set()

    def find_class(self, module: str, name: str):
        self.seen.add(f"{module}.{name}")
        if not module.startswith(ALLOWED):
            raise AssertionError(f"the executors would receive a {module}.{name}")
        return super().find_class(module, name)


@pytest.fixture(scope="module")
def keyring(tmp_path_factory):
    ring = Keyring(tmp_path_factory.mktemp("ring"))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    fast = KdfParams(64, 1, 1)
    ring.generate("amr", "provider", "intl", PASS, now=now, kdf_params=fast)
    ring.generate_secret("subject-ps", "intl", PASS, now=now, kdf_params=fast)
    return ring


def test_the_shipped_stage_holds_data_keys_only(spark, policy, keyring):
    from pyspark import cloudpickle

    ident = keyring.unlock("amr", PASS)
    ps = keyring.secret("subject-ps", PASS)
    keys = executor_keys(pseudonymizers={"subject": ps}, seal=True)
    header = policy.kind("penalty").columns
    spec, _k, _sql = plan_stage(
        policy, header, text=policy_text(policy), audiences=["gov_share"], today=TODAY,
        keys=keys, seal=True,
    )  # fmt: skip
    shipped = cloudpickle.dumps(EngineStage(spec))  # what Spark sends to each executor

    # the data keys travel (so the search below can find key bytes) ...
    assert keys.package_key is not None and keys.package_key in shipped
    assert ps.material() in shipped
    assert ps.key_id.encode() in shipped
    # ... private keys and the passphrase never do
    s = ident.suite
    for private in (s.export_private(ident.signing), s.export_private(ident.kem)):
        assert len(private) >= 32 and private not in shipped
    assert PASS.encode() not in shipped
    u = _Classes(shipped)
    stage = u.load()
    assert isinstance(stage, EngineStage)
    assert "xinan.spark.keys.ExecutorKeys" in u.seen
    assert not [c for c in u.seen if "Identity" in c or "Keyring" in c or "SecretKey" in c]


def test_private_keys_refuse_to_travel(keyring):
    """Identity and SecretKey cannot be pickled at all: a closure that captured one would
    fail in Spark's serializer instead of shipping the key."""
    from pyspark import cloudpickle

    with pytest.raises(TypeError, match="cannot be pickled"):
        cloudpickle.dumps(keyring.unlock("amr", PASS))
    with pytest.raises(TypeError, match="cannot be pickled"):
        cloudpickle.dumps(keyring.secret("subject-ps", PASS))
