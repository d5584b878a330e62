"""`python -m app.cli`: the `canon-gate` command, for when the console script is not on PATH."""

import sys

from app.cli.main import main

sys.exit(main())
