"""`python -m core.reports NAME --from DATE --to DATE -o FILE.csv` (see core.reports.cli)."""

import sys

from core.reports.cli import main

sys.exit(main())
