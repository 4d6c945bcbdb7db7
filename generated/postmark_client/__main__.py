# Copied by postmark-codegen from templates/static/postmark_client/__main__.py;
# edit it there and regenerate, not here.
"""`python -m postmark_client`: the same as the `postmark` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
