"""``python -m cyclebench <verb>``: the same as the ``cyclebench`` console command."""

import sys

from cyclebench.cli import main

sys.exit(main())
