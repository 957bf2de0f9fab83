"""``python -m neurova.cli``: the ``neurova`` command (e.g. under ``torchrun``)."""

from neurova.cli import main

raise SystemExit(main())
