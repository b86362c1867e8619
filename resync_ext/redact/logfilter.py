"""A logging filter that masks secrets in every record a handler writes.

Attached to the handlers of Resync's loggers (``install_log_filter``), so records from child
loggers that propagate up are masked too (a filter on a logger sees only its own records). The
record's message is rendered once with its arguments, masked, and the arguments dropped; an
exception's traceback text is rendered and masked the same way.
"""

from __future__ import annotations

import logging

_formatter = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Mask the secrets in a record's message and traceback; never drop a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from . import mask_secrets  # the service is built on first use, not at import

        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: log it as it came
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = mask_secrets(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_secrets(_formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


def install_log_filter(logger: logging.Logger) -> RedactingFilter:
    """Add one ``RedactingFilter`` to ``logger`` and to each of its handlers (once)."""
    for target in (logger, *logger.handlers):
        found = next((f for f in target.filters if isinstance(f, RedactingFilter)), None)
        if found is None:
            target.addFilter(RedactingFilter())
    return next(f for f in logger.filters if isinstance(f, RedactingFilter))
