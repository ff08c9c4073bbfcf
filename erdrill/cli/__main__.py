"""`python -m erdrill.cli`: the same as the `erdrill` command."""

import sys

from erdrill.cli import main

sys.exit(main())
