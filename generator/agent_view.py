"""What agents read: the MCP tools the generated server lists for a spec, as that server builds them.

A tool's name, description, input schema and annotations are made by three pieces of the output:
the operation table (templates/operations_group.py.jinja), the schemas
(generator/schemas.py through templates/schemas.py.jinja, made into input schemas by the static
mcp/_input_schemas.py) and the server
(templates/static/postmark_client/mcp/_server.py). Rather than a second copy of that logic, the
package is rendered from the model into a temporary folder, imported from there, and its server
is asked for the tool of every operation: what `diff` compares is what `tools/list` answers.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import py_compile
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2

from generator.model import Api
from generator.render import (
    OUTPUTS,
    PACKAGE,
    RenderError,
    environment,
    expand_outputs,
    read_static,
    render_text,
    templates_dir,
)

# The package without postmark_client.testing, whose fake needs data only a full spec has.
_OUTPUTS = tuple(
    output
    for output in OUTPUTS
    if output.path.startswith(f"{PACKAGE}/") and not output.path.startswith(f"{PACKAGE}/testing/")
)
# The tools of each model asked for, by the hash of its repr (the model is all the templates
# read): the old side of a diff is often the same spec run after run.
_SEEN: dict[str, dict[str, dict[str, Any]]] = {}


class AgentViewError(Exception):
    """The tools cannot be computed: the package does not render, or its server does not load."""


def mcp_tools(api: Api) -> dict[str, dict[str, Any]]:
    """operationId -> its tool as `tools/list` shows it: name, description, inputSchema and
    annotations (JSON, with the MCP field names)."""
    digest = hashlib.sha256(repr(api).encode("utf-8", "surrogatepass")).hexdigest()
    if digest not in _SEEN:
        _SEEN[digest] = _ask_the_server(_sources(api))
    return _SEEN[digest]


def _sources(api: Api) -> dict[str, bytes]:
    """The package's files, rendered but not formatted (formatting changes no behaviour)."""
    directory = templates_dir()
    env = _environment(directory)
    try:
        return {
            output.path: (
                read_static(directory, output)
                if output.static
                else render_text(env, api, output).encode("utf-8")
            )
            for output in expand_outputs(api, _OUTPUTS)
        }
    except RenderError as exc:
        raise AgentViewError(f"the package does not render: {exc}") from None


@cache
def _environment(directory: Path) -> jinja2.Environment:
    return environment(directory)


def _ask_the_server(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    with _imported(files) as load:
        try:
            server = load(f"{PACKAGE}.mcp._server")
            operations = load(f"{PACKAGE}._operations").OPERATIONS
            tools = server.PostmarkTools(load(f"{PACKAGE}.access").Policy({}), tokens={})
            return {
                op.id: tools.tool(op).model_dump(mode="json", by_alias=True, exclude_none=True)
                for op in operations.values()
            }
        except ModuleNotFoundError as exc:
            if _ours(exc.name or ""):
                raise AgentViewError(f"the package does not load: {exc}") from None
            raise AgentViewError(
                f"the MCP server cannot be loaded ({exc}); install it with "
                "pip install './generated[mcp]'"
            ) from None
        except Exception as exc:  # noqa: BLE001 - whatever the package does: a message
            raise AgentViewError(
                f"the MCP server could not list its tools: {type(exc).__name__}: {exc}"
            ) from None


@cache
def _tree() -> Path:
    """One folder per process for the package being asked, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="postmark-codegen-agents-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _write(files: dict[str, bytes]) -> Path:
    """Write the files into the tree, replacing those of the last package asked that differ.

    Each module is compiled as it is written, to a .pyc checked by the source's hash (never by
    its time), so a file the next package shares (every static one) is not compiled again.
    """
    root = _tree()
    package = root / PACKAGE
    for path in sorted(package.rglob("*.py")) if package.is_dir() else []:
        relative = path.relative_to(root).as_posix()
        if relative not in files or path.read_bytes() != files[relative]:
            path.unlink()
    for relative, data in files.items():
        path = root / relative
        if path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if relative.endswith(".py"):
            try:
                py_compile.compile(
                    str(path), doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
                )  # fmt: skip
            except py_compile.PyCompileError as exc:
                raise AgentViewError(f"the package does not compile: {exc.msg}") from None
    return root


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(f"{PACKAGE}.")


@contextmanager
def _imported(files: dict[str, bytes]) -> Iterator[Callable[[str], ModuleType]]:
    """Import `postmark_client` from `files` while inside; the modules loaded before (the
    installed package, say) are put back afterwards, and the ones loaded here dropped."""
    folder = str(_write(files))
    saved = {name: module for name, module in sys.modules.items() if _ours(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, folder)
    importlib.invalidate_caches()
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(folder)
        for name in [name for name in sys.modules if _ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
        importlib.invalidate_caches()
