"""`python -m speaker` = `ironlb speaker`."""

import sys

from ironlb.cli.commands.speaker import main

sys.exit(main())
