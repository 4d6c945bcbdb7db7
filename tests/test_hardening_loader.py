"""Reading a hostile spec never hangs, fetches or leaks.

Each case writes spec/postmark.yaml, or for the $ref cases a small valid cut of it
(tests/support/small_spec.py, validated in a tenth of the time), into <tmp>/spec/postmark.yaml (the
working directory is <tmp>, so every located line starts with `spec/postmark.yaml`), mutates it, and
runs the real command.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.small_spec import real_doc, small_doc
from support.spec_workdir import SPEC, enter_workdir
from support.spec_workdir import run_validate as validate
from support.spec_workdir import write_spec as write

from generator.cli import main
from generator.loader import SpecLoadError, load_spec

REPO = Path(__file__).resolve().parent.parent
REAL_SPEC = REPO / "spec" / "postmark.yaml"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
MARKER = "SECRET-MARKER-7f3a"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return enter_workdir(tmp_path, monkeypatch)


# -- YAML alias expansion ----------------------------------------------------------------------


def laughs(levels: int) -> str:
    """`a` holds 10 scalars; every further level holds 10 aliases of the one before."""
    names = "abcdefghijklmnop"
    lines = ["x-laughs:", "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        aliases = ", ".join([f"*{names[i - 1]}"] * 10)
        lines.append(f"  {names[i]}: &{names[i]} [{aliases}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [9, 7], ids=["billion-laughs", "ten-million-nodes"])
def test_alias_expansion_is_refused_fast_and_located(
    levels: int, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = REAL_SPEC.read_text(encoding="utf-8") + laughs(levels)
    write(workdir, text)
    started = time.perf_counter()
    code, out, err = validate(capsys)
    elapsed = time.perf_counter() - started
    assert (code, out) == (2, "")
    first = err.splitlines()[0]
    where, _, message = first.partition(": ")
    file, line, column = where.split(":")
    assert file == SPEC
    # The location is an alias (`*x`) inside the laughs block.
    lines = text.splitlines()
    assert lines[int(line) - 1][int(column) - 1] == "*"
    assert int(line) > len(lines) - levels
    assert "alias" in message and "expand" in message
    assert elapsed < 1.0, elapsed


def test_recursive_alias_is_refused(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = REAL_SPEC.read_text(encoding="utf-8") + "x-loop: &loop [1, *loop]\n"
    write(workdir, text)
    code, out, err = validate(capsys)
    assert (code, out) == (2, "")
    line = len(text.splitlines())
    assert err.splitlines()[0].startswith(f"{SPEC}:{line}:{len('x-loop: &loop [1, ') + 1}: ")
    assert "recursive" in err


def test_a_few_aliases_still_load(workdir: Path) -> None:
    text = REAL_SPEC.read_text(encoding="utf-8") + "x-small: {a: &x [1, 2], b: *x, c: *x}\n"
    spec = load_spec(write(workdir, text))
    assert spec.root["x-small"]["c"] == [1, 2]


# -- bytes YAML forbids ------------------------------------------------------------------------


def _title_line(text: bytes) -> tuple[int, int]:
    """Line and column (1-based) just after `title: ` in info."""
    index = text.index(b"title: ") + len(b"title: ")
    line = text[:index].count(b"\n") + 1
    column = index - (text.rfind(b"\n", 0, index) + 1) + 1
    return line, column


def test_a_spec_that_is_not_utf8_is_a_located_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = REAL_SPEC.read_bytes()
    line, column = _title_line(raw)
    write(workdir, raw.replace(b"title: ", b"title: \xff", 1))
    code, out, err = validate(capsys)
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == (
        f"{SPEC}:{line}:{column}: not UTF-8 text: byte 0xff cannot be decoded"
    )


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"], ids=["nul", "escape", "delete"])
def test_control_characters_yaml_forbids_are_located(
    char: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = REAL_SPEC.read_bytes()
    line, column = _title_line(raw)
    write(workdir, raw.replace(b"title: ", b"title: " + char.encode(), 1))
    code, out, err = validate(capsys)
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == (
        f"{SPEC}:{line}:{column}: YAML error: the control character U+{ord(char):04X} "
        "is not allowed in YAML"
    )


def test_not_utf8_through_the_real_commands(workdir: Path) -> None:
    raw = REAL_SPEC.read_bytes()
    write(workdir, raw.replace(b"title: ", b"title: \xc3\x28", 1))
    env = dict(os.environ, PYTHONPATH=str(REPO), POSTMARK_CODEGEN_CACHE="off")
    for args in (["validate"], ["generate", "--out", "out"]):
        result = subprocess.run(
            [sys.executable, "-m", "generator", *args],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"{SPEC}:"), result.stderr
        assert "not UTF-8" in result.stderr
    assert not (workdir / "out").exists()


# -- $refs: no network, nothing outside the spec's folder --------------------------------------


class Listener:
    """A loopback TCP listener counting the connections it accepts (answers nothing useful)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\ntype: object\n")
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.stop()


def remote_refs(port: int) -> list[tuple[str, dict[str, Any]]]:
    base = f"127.0.0.1:{port}"
    return [
        ("http", {"$ref": f"http://{base}/schema.yaml"}),
        ("https", {"$ref": f"https://{base}/schema.yaml#/Send"}),
        ("scheme-relative", {"$ref": f"//{base}/schema.yaml"}),
        (
            "relative-to-an-id",
            {
                "$id": f"http://{base}/base/",
                "type": "object",
                "properties": {"To": {"$ref": "other.yaml"}},
            },
        ),
    ]


@pytest.mark.parametrize("case", range(4), ids=["http", "https", "scheme-relative", "id"])
def test_no_ref_reaches_the_network(
    case: int, listener: Listener, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, schema = remote_refs(listener.port)[case]
    doc = small_doc()
    doc["components"]["schemas"]["SendEmailRequest"] = schema
    write(workdir, doc)
    code, out, err = validate(capsys)
    assert code == 1, out + err
    assert main(["generate", "--spec", SPEC, "--out", "out"]) == 2
    capsys.readouterr()
    assert listener.connections == 0
    if name != "relative-to-an-id":
        ref = schema["$ref"]
        assert (
            f"{SPEC}: components.schemas.SendEmailRequest: $ref {ref!r} is refused: a URL; "
            "a $ref may only be a '#/...' fragment or a relative path to a file in the spec's folder"
        ) in out.splitlines()


def test_a_ref_inside_a_referenced_file_does_not_reach_the_network(
    listener: Listener, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = small_doc()
    doc["components"]["schemas"]["SendEmailRequest"] = {"$ref": "schemas/send.yaml"}
    write(workdir, doc)
    write(
        workdir,
        {"type": "object", "properties": {"To": {"$ref": f"http://127.0.0.1:{listener.port}/"}}},
        "spec/schemas/send.yaml",
    )
    code, out, _ = validate(capsys)
    assert code == 1
    assert listener.connections == 0
    assert f"spec/schemas/send.yaml: properties.To: $ref 'http://127.0.0.1:{listener.port}/'" in out


def refused(ref: str, reason: str) -> str:
    return (
        f"{SPEC}: components.schemas.SendEmailRequest: $ref {ref!r} is refused: {reason}; "
        "a $ref may only be a '#/...' fragment or a relative path to a file in the spec's folder"
    )


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("/etc/passwd", "an absolute path"),
        ("file:///etc/passwd", "a URL"),
        ("/etc/passwd#/root", "an absolute path"),
        ("../outside.yaml", "it leaves the spec's folder"),
        ("schemas/../../outside.yaml#/Send", "it leaves the spec's folder"),
        ("link.yaml", "it leaves the spec's folder"),
    ],
)
def test_refs_leaving_the_spec_folder_are_refused_without_reading_them(
    ref: str, reason: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = write(workdir, {"Send": {"type": "object", "description": MARKER}}, "outside.yaml")
    (workdir / "spec" / "link.yaml").symlink_to(outside)
    doc = small_doc()
    doc["components"]["schemas"]["SendEmailRequest"] = {"$ref": ref}
    write(workdir, doc)
    code, out, err = validate(capsys)
    assert code == 1
    assert refused(ref, reason) in out.splitlines()
    assert MARKER not in out + err and "root:" not in out + err
    assert main(["generate", "--spec", SPEC, "--out", "out"]) == 2
    captured = capsys.readouterr()
    assert MARKER not in captured.out + captured.err and "root:" not in captured.err


def test_the_loader_refuses_before_reading(workdir: Path) -> None:
    spec = load_spec(write(workdir, real_doc()))
    for ref in ("/etc/passwd", "file:///etc/passwd", "http://127.0.0.1:9/x", "../x.yaml"):
        with pytest.raises(KeyError, match="is refused"):
            spec.resolve_ref(ref)
    assert list(spec.documents) == [spec.path.resolve()]


def test_a_referenced_file_that_is_not_utf8_is_located(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = small_doc()
    doc["components"]["schemas"]["SendEmailRequest"] = {"$ref": "schemas/send.yaml"}
    write(workdir, doc)
    write(workdir, b"type: object\ndescription: caf\xe9\n", "spec/schemas/send.yaml")
    code, out, _ = validate(capsys)
    assert code == 1
    assert (
        f"{SPEC}: components.schemas.SendEmailRequest: $ref 'schemas/send.yaml' points to an "
        "unreadable file: spec/schemas/send.yaml:2:17: not UTF-8 text: byte 0xe9 cannot be decoded"
    ) in out.splitlines()
    with pytest.raises(SpecLoadError):
        load_spec(workdir / "spec" / "schemas" / "send.yaml")
