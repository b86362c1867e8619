"""Errors of the report runner.

Hierarchy::

    ReportError                          base
    ├── BadReportName         400        a report or notebook name outside the allowed patterns
    ├── BadParameters         400        parameters that are not plain values, or reserved names
    ├── UnknownNotebook       404        no report template by that name
    ├── ReportNotFound        404        no report run by that name (or that format)
    ├── ReportRunning         409        the report is still running: nothing to fetch yet
    └── ReportFailed                     a run that ended in error (raised by scheduled_run)

What the report's kernel raises when it cannot read the server (``ReportDataError``,
``ServiceDown``) is kernel-side code: ``resync_ext/kernel/errors.py``.
"""

from __future__ import annotations

from resync_ext.errors import Conflict, InvalidInput, NotFound, ResyncError


class ReportError(ResyncError):
    """Base of the report runner's errors."""


class BadReportName(ReportError, InvalidInput):
    """A report or notebook name that does not match the allowed patterns."""


class BadParameters(ReportError, InvalidInput):
    """Parameters that cannot be passed to a report."""


class UnknownNotebook(ReportError, NotFound):
    """No report template by that name."""


class ReportNotFound(ReportError, NotFound):
    """No report run by that name."""


class ReportRunning(ReportError, Conflict):
    """The report has not finished yet."""


class ReportFailed(ReportError):
    """A report run ended in error."""
