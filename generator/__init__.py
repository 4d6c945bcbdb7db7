"""postmark-codegen: the Postmark OpenAPI document turned into a typed Python client.

The pipeline runs one way: load + validate the spec -> build the intermediate model -> render the
templates -> format with ruff (black style) -> write `generated/` atomically.
"""

__version__ = "0.1.0"
