"""``python -m pricing``: see :mod:`pricing.cli`."""

import sys

from pricing.cli import main

sys.exit(main())
