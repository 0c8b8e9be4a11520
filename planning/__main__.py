"""``python -m planning``: plan a stack offline, review it against the policy pack, price it."""

from planning.cli import main

raise SystemExit(main())
