"""`python -m api.cli`: the same as `portalflow`, without installing."""

import sys

from api.cli import main

sys.exit(main())
