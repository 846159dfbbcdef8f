"""``python -m jupyter_mltrain.cli``: the ``mltrain`` command."""

import sys

from jupyter_mltrain.cli import main

sys.exit(main())
