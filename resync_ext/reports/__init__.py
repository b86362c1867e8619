"""Report notebooks run with papermill in a separate process (see runner.py).

Importing this package is cheap: papermill and nbconvert are imported only by the report process.
"""

from __future__ import annotations

from .errors import ReportError
from .runner import ReportRunner

__all__ = ["ReportError", "ReportRunner"]
