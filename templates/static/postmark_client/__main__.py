"""`python -m postmark_client`: the same as the `postmark` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
