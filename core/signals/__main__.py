"""`python -m core.signals ...`: the command line of core.signals.cli."""

import sys

from core.signals.cli import main

sys.exit(main())
