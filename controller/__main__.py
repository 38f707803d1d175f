"""`python -m controller`: the same as `ironlb controller`."""

from __future__ import annotations

import sys

from ironlb.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["controller", *sys.argv[1:]]))
