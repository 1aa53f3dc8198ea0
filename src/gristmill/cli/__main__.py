"""``python -m gristmill.cli`` (and ``torchrun -m gristmill.cli``): the ``gristmill`` command."""

import sys

from gristmill.cli import main

sys.exit(main())
