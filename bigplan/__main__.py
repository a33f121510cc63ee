"""``python -m bigplan``: the same as the ``bigplan`` command (:func:`bigplan.cli.main`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
