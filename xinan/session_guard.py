"""What a long-lived session keeps between operations: its request id and source for the audit
entries (GB/T 22239-2019 8.1.4.3 b; docs/audit-log.md §2) and its idle timeout (8.1.4.1 b).

A CLI invocation is one session and one request. A library party object (a
:class:`xinan.platform.Platform` a service keeps open) is one session over many calls: each
call begins a new request (:meth:`RequestGuard.begin`) with a fresh random id, so the entries of
one call can be told from the next; and a call after more than the idle timeout (default 30
minutes, on the injected clock) is refused — and the refusal logged — and so is every later one:
the object must be opened again, which authenticates again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from xinan.audit.entry import new_request_id, process_source
from xinan.errors import AccessDenied

DEFAULT_IDLE_TIMEOUT = timedelta(minutes=30)
IDLE_REF = "session:idle-timeout"  # the ``ref`` of the refusal's ``denied`` entry


def idle_refusal(
    actor: str, operation: str, limit: timedelta | None
) -> tuple[dict[str, str], AccessDenied]:
    """The ``why`` of the refusal's entry and the error raised after it is logged."""
    why = {"basis": f"{operation}: idle for more than {limit} (GB/T 22239-2019 8.1.4.1 b)"}
    return why, AccessDenied(
        f"{actor}: the session was idle for more than {limit}; {operation} refused",
        rule=IDLE_REF,
        hint="open it again (the identity is authenticated again)",
    )


@dataclass
class RequestGuard:
    """The request id and source the session's entries carry, and the idle clock."""

    source: str = field(default_factory=process_source)
    request_id: str = field(default_factory=new_request_id)
    idle_timeout: timedelta | None = None  # None: no timeout (one CLI command)
    last_active: datetime | None = None
    expired: bool = False

    def begin(self, now: datetime) -> bool:
        """Start a new request at ``now``: a fresh id, the idle clock reset. Returns False —
        and keeps the session expired for good — when the session was idle too long."""
        if self.expired or (
            self.idle_timeout is not None
            and self.last_active is not None
            and now - self.last_active > self.idle_timeout
        ):
            self.expired = True
            return False
        self.request_id = new_request_id()
        self.last_active = now
        return True
