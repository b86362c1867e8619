"""Errors of the audit loop.

Hierarchy::

    AuditError                         base
    ├── BadBatchName        400        a name that is not audit-<yyyymmddThhmmssZ>
    ├── InvalidReview       400        a decision that cannot be applied (a correction without
    │                                  an answer, a memory the auditor has not judged)
    ├── BatchNotFound       404        no such batch (pending or archived)
    ├── ItemNotFound        404        no review item for that memory id
    ├── DecisionConflict    409        the item was already decided the other way
    ├── BatchPending        409        archive refused: items still pending
    └── QueueUnavailable    503        the team database of the shared review queue is down

The judge's unparseable answer is ``resync_ext.agents.errors.JudgeOutputError``: the judge program
raises it, the auditor retries once.
"""

from __future__ import annotations

from resync_ext.errors import Conflict, InvalidInput, NotFound, ResyncError, Unavailable


class AuditError(ResyncError):
    """Base of the audit loop's errors."""


class BadBatchName(AuditError, InvalidInput):
    """A batch name that does not match the batch pattern."""


class InvalidReview(AuditError, InvalidInput):
    """A decision that cannot be applied as given."""


class BatchNotFound(AuditError, NotFound):
    """No batch by that name."""


class ItemNotFound(AuditError, NotFound):
    """No review item for that memory id."""


class DecisionConflict(AuditError, Conflict):
    """The item was already decided differently."""


class BatchPending(AuditError, Conflict):
    """A batch with pending items cannot be archived."""


class QueueUnavailable(AuditError, Unavailable):
    """The shared review queue's database cannot be reached."""
