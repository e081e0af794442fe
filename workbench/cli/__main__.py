"""``python -m workbench.cli`` (as ``python -m workbench``)."""

from . import main

raise SystemExit(main())
