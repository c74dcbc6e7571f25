"""Allow ``python -m neurorack``."""

from neurorack.cli import main

raise SystemExit(main())
