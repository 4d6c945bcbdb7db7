"""`python -m generator` is the same as the `postmark-codegen` command."""

import sys

from generator.cli import main

sys.exit(main())
