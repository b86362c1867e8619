"""``python -m resync_ext.evaluation``: the same as ``resync-eval``."""

import sys

from resync_ext.evaluation.cli import main

sys.exit(main())
