"""(3) The querent (查询方, e.g. a bank with the subject's authorisation): open a share package
with its grant and the platform's release, and nothing more than the grant allows.

* :mod:`xinan.querent.open_share` — the querent's order of checks, then the plaintext.
"""

from xinan.querent.open_share import (
    WITHHELD,
    ShareOpenResult,
    check_share_against_grant,
    open_share_file,
)

__all__ = ["WITHHELD", "ShareOpenResult", "check_share_against_grant", "open_share_file"]
