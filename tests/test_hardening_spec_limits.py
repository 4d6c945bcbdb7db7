"""`validate` refuses specs that would make it (or the generated code) run for ever: patterns that
backtrack catastrophically, files over the size limit, circular `$ref`s and deep nesting.

Each case mutates tests/fixtures/mini.yaml, written to <tmp>/spec/postmark.yaml with <tmp> the
working directory, and runs the real command; one case reads the real spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support.spec_workdir import SPEC, enter_workdir, run_validate, write_spec

from generator import loader
from generator.cli import main
from generator.loader import SpecLoadError, load_spec
from generator.patterns import backtracking_problem
from generator.validate import MAX_REF_CHAIN, Checker, check_patterns, check_ref_cycles

TESTS = Path(__file__).resolve().parent
MINI = TESTS / "fixtures" / "mini.yaml"
REAL_SPEC = TESTS.parent / "spec" / "postmark.yaml"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Doc = dict[str, Any]
SCHEMAS = ("components", "schemas")
SUBJECT = "components.schemas.SendEmailRequest.properties.Subject"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return enter_workdir(tmp_path, monkeypatch)


def mini() -> Doc:
    doc: Doc = yaml.load(MINI.read_text(encoding="utf-8"), Loader=LOADER)
    return doc


def write(workdir: Path, doc: Doc | str, name: str = SPEC) -> Path:
    return write_spec(workdir, doc, name, as_json=True)


def validate(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code, out, err = run_validate(capsys)
    return code, out.splitlines(), err


def schemas(doc: Doc) -> Doc:
    found: Doc = doc["components"]["schemas"]
    return found


def validate_subject_pattern(
    pattern: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str], str]:
    """Validate the mini spec with `pattern` on the Subject of a send."""
    doc = mini()
    schemas(doc)["SendEmailRequest"]["properties"]["Subject"] = {
        "type": "string",
        "pattern": pattern,
    }
    write(workdir, doc)
    return validate(capsys)


# -- patterns ------------------------------------------------------------------------------------

EVIL = [
    ("^(a+)+$", "the '+' at character 6 repeats the '+' at character 4"),
    ("^(a*)*$", "the '*' at character 6 repeats the '*' at character 4"),
    ("(x+x+)+y", "the '+' at character 7 repeats the '+' at character 3"),
    ("^([a-z0-9]+)*$", "the '*' at character 13 repeats the '+' at character 11"),
    ("(?:a?){2,}", "the '{2,}' at character 7 repeats the '?' at character 5"),
    ("(.*a){12}", "the '{12}' at character 6 repeats the '*' at character 3"),
    (
        "^(a|a)*$",
        "the '*' at character 7 repeats an alternation whose branches at characters 3 and 5",
    ),
    (
        "(a|\\w)+",
        "the '+' at character 7 repeats an alternation whose branches at characters 2 and 4",
    ),
    (
        "(ab|ac)*",
        "the '*' at character 8 repeats an alternation whose branches at characters 2 and 5",
    ),
    (
        "((a|)|b?)+",
        "the '+' at character 10 repeats an alternation whose branches at characters 2 and 7",
    ),
]


@pytest.mark.parametrize(("pattern", "why"), EVIL, ids=[p for p, _ in EVIL])
def test_a_pattern_that_can_backtrack_catastrophically_is_refused(
    pattern: str, why: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = validate_subject_pattern(pattern, workdir, capsys)
    assert (code, err) == (1, "")
    # Only this line: the example 'Hello' is never matched against the pattern.
    assert len(out) == 2 and out[-1] == f"1 problem in {SPEC}"
    assert out[0].startswith(
        f"{SPEC}: {SUBJECT}.pattern: the pattern {pattern!r} can backtrack catastrophically: {why}"
    )


def test_patterns_in_parameters_and_pattern_properties_are_checked(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    count = doc["components"]["parameters"]["Count"]
    count["schema"] = {"type": "string", "pattern": "^(\\d+)+$"}
    metadata = schemas(doc)["DeliveryWebhook"]["properties"]["Metadata"]
    metadata["patternProperties"] = {"^(k|k)*$": {"type": "string"}}
    write(workdir, doc)
    code, out, _ = validate(capsys)
    assert code == 1
    assert [line.split(": the pattern")[0] for line in out[:-1]] == [
        f"{SPEC}: components.parameters.Count.schema.pattern",
        (
            f"{SPEC}: components.schemas.DeliveryWebhook.properties.Metadata.patternProperties."
            "^(k|k)*$"
        ),
    ]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a", "is not a regular expression: missing ), unterminated subpattern at position 0"),
        ("(?i)abc", "cannot be checked for catastrophic backtracking: the group (a named or"),
        ("(a)\\1", "cannot be checked for catastrophic backtracking: '\\1' at character 4"),
        ("(?>a+)+", "cannot be checked for catastrophic backtracking: the group (a named or"),
        ("(a++)*", "cannot be checked for catastrophic backtracking: a possessive quantifier at"),
        ("x{,5}", "cannot be checked for catastrophic backtracking: '{,5}' (JavaScript reads it"),
        ("\\Aa", "cannot be checked for catastrophic backtracking: '\\A' at character 1 is not"),
    ],
)
def test_a_pattern_that_cannot_be_read_is_refused(
    pattern: str, reason: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = validate_subject_pattern(pattern, workdir, capsys)
    assert code == 1
    assert out[0].startswith(f"{SPEC}: {SUBJECT}.pattern: the pattern {pattern!r} {reason}")


@pytest.mark.parametrize(
    "pattern",
    [
        "(a|b)*",
        "(\\d{2})+",
        "^[a-z]+(-x)?$",
        "(?:ab)+?",
        "(?<!a)b",
        "^\\w+@\\w+\\.com$",
        "(ab|cd)*",
    ],
)
def test_patterns_that_cannot_backtrack_catastrophically_are_accepted(pattern: str) -> None:
    assert backtracking_problem(pattern) is None


def test_every_pattern_of_the_real_spec_and_its_refs_are_accepted() -> None:
    spec = load_spec(REAL_SPEC)
    checker = Checker(spec)
    assert "pattern" in REAL_SPEC.read_text(encoding="utf-8")
    assert list(check_patterns(checker)) == []
    assert list(check_ref_cycles(checker)) == []


# -- circular $refs ------------------------------------------------------------------------------


def test_a_ref_cycle_is_refused_with_its_chain(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    schemas(doc)["A"] = {"$ref": "#/components/schemas/B"}
    schemas(doc)["B"] = {"$ref": "#/components/schemas/A"}
    schemas(doc)["SendEmailRequest"]["properties"]["X"] = {"$ref": "#/components/schemas/A"}
    write(workdir, doc)
    code, out, err = validate(capsys)
    assert (code, err) == (1, "")
    assert out == [
        (
            f"{SPEC}: components.schemas.A: $ref '#/components/schemas/B' is circular: "
            "components.schemas.A -> components.schemas.B -> components.schemas.A; "
            "following it never ends"
        ),
        f"1 problem in {SPEC}",
    ]


def test_a_cycle_through_all_of_and_any_of_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    schemas(doc)["A"] = {"allOf": [{"$ref": "#/components/schemas/B"}]}
    schemas(doc)["B"] = {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/A"}]}
    write(workdir, doc)
    code, out, _ = validate(capsys)
    assert code == 1
    assert out[0] == (
        f"{SPEC}: components.schemas.A.allOf.0: $ref '#/components/schemas/B' is circular: "
        "components.schemas.A.allOf.0 -> components.schemas.B.anyOf.1 -> "
        "components.schemas.A.allOf.0; following it never ends (allOf, anyOf, oneOf, not, if, "
        "then and else apply to the same value)"
    )


def test_a_parameter_ref_cycle_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    doc["components"]["parameters"]["P"] = {"$ref": "#/components/parameters/P"}
    write(workdir, doc)
    code, out, _ = validate(capsys)
    assert code == 1
    assert out[0] == (
        f"{SPEC}: components.parameters.P: $ref '#/components/parameters/P' is circular: "
        "components.parameters.P -> components.parameters.P; following it never ends"
    )


def chain(doc: Doc, links: int) -> None:
    """S0 -> S1 -> ... -> S<links>, each through an allOf; the Subject of a send starts it."""
    for i in range(links):
        schemas(doc)[f"S{i}"] = {"allOf": [{"$ref": f"#/components/schemas/S{i + 1}"}]}
    schemas(doc)[f"S{links}"] = {"type": "string"}
    schemas(doc)["SendEmailRequest"]["properties"]["Subject"] = {"$ref": "#/components/schemas/S0"}


def test_a_ref_chain_longer_than_the_limit_is_refused_with_where_it_starts(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    chain(doc, 300)  # before: "cannot be checked: maximum recursion depth exceeded"
    write(workdir, doc)
    code, out, err = validate(capsys)
    assert (code, err) == (1, "")
    assert out == [
        (
            f"{SPEC}: {SUBJECT}: $ref '#/components/schemas/S0' begins a chain of 301 $refs (allOf, "
            "anyOf, oneOf, not, if, then and else count too), more than the 64 the validators can "
            f"follow: {SUBJECT} -> components.schemas.S0.allOf.0 -> components.schemas.S1.allOf.0 "
            "-> ... -> components.schemas.S298.allOf.0 -> components.schemas.S299.allOf.0"
        ),
        f"1 problem in {SPEC}",
    ]


def test_a_ref_chain_at_the_limit_is_accepted(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    chain(doc, MAX_REF_CHAIN - 1)  # and the Subject's own $ref
    write(workdir, doc)
    code, out, _ = validate(capsys)
    assert (code, out[-1].endswith(": OK")) == (0, True)


def test_a_recursive_schema_through_its_properties_is_accepted(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    schemas(doc)["Node"] = {
        "type": "object",
        "properties": {
            "Children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "Parent": {"$ref": "#/components/schemas/Node"},
        },
    }
    schemas(doc)["SendEmailRequest"]["properties"]["Tree"] = {"$ref": "#/components/schemas/Node"}
    write(workdir, doc)
    code, out, _ = validate(capsys)
    assert (code, out[-1].endswith(": OK")) == (0, True)


# -- nesting depth -------------------------------------------------------------------------------


def nested(levels: int) -> Doc:
    node: Doc = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"N": node}}
    return node


def test_a_200_deep_schema_is_refused_with_the_limit_and_where(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    schemas(doc)["SendEmailRequest"]["properties"]["Deep"] = nested(200)
    write(workdir, doc)
    code, out, err = validate(capsys)
    assert (code, out) == (2, [])
    assert err.splitlines() == [
        (
            f"{SPEC}: components.schemas.SendEmailRequest.properties.Deep.properties.N.properties. "
            "... .properties.N.properties: nested deeper than 64 levels, the most a spec may nest; "
            "name the inner schemas in components/schemas and $ref them"
        ),
        "cannot validate: the spec is unreadable",
    ]


def test_nesting_up_to_the_limit_loads(workdir: Path) -> None:
    doc = mini()
    # components.schemas.SendEmailRequest.properties.Deep is 5 levels; each level adds 2.
    schemas(doc)["SendEmailRequest"]["properties"]["Deep"] = nested((loader.MAX_DEPTH - 5) // 2)
    load_spec(write(workdir, doc))
    schemas(doc)["SendEmailRequest"]["properties"]["Deep"] = nested((loader.MAX_DEPTH - 5) // 2 + 1)
    with pytest.raises(SpecLoadError, match="nested deeper than 64 levels"):
        load_spec(write(workdir, doc))


def test_a_deep_file_reached_by_ref_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    schemas(doc)["SendEmailRequest"]["properties"]["Deep"] = {"$ref": "deep.yaml#/Deep"}
    write(workdir, doc)
    write(workdir, {"Deep": nested(40)}, "spec/deep.yaml")
    code, out, _ = validate(capsys)
    assert code == 1
    assert out[0].startswith(
        f"{SPEC}: components.schemas.SendEmailRequest.properties.Deep: $ref 'deep.yaml#/Deep' "
        "points to an unreadable file: spec/deep.yaml: Deep.properties.N."
    )
    assert "nested deeper than 64 levels" in out[0]


# -- size ----------------------------------------------------------------------------------------


def padded(size: int) -> str:
    """The mini spec grown to `size` bytes by one long extension string."""
    text = MINI.read_text(encoding="utf-8") + "x-padding: '"
    return text + "a" * (size - len(text.encode()) - 2) + "'\n"


def test_a_spec_file_over_the_limit_is_refused_before_parsing(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir, padded(loader.MAX_FILE_BYTES + 1))
    monkeypatch.setattr(loader, "_KeyCountingLoader", None)  # parsing would fail loudly
    code, out, err = validate(capsys)
    assert (code, out) == (2, [])
    assert err.splitlines() == [
        (
            f"{SPEC}: the file is 2,097,153 bytes (2.0 MiB): too large; "
            "a spec file may be at most 2,097,152 bytes (2.0 MiB)"
        ),
        "cannot validate: the spec is unreadable",
    ]


def test_a_spec_file_at_the_limit_loads(workdir: Path) -> None:
    spec = load_spec(write(workdir, padded(loader.MAX_FILE_BYTES)))
    assert spec.size == loader.MAX_FILE_BYTES


def test_the_files_of_a_spec_are_limited_together(workdir: Path) -> None:
    doc = mini()
    names = ["a", "b"]
    for name in names:
        schemas(doc)["SendEmailRequest"]["properties"][name] = {"$ref": f"{name}.yaml#/S"}
        write(
            workdir,
            "S: {type: string}\nx-padding: '" + "a" * 1_900_000 + "'\n",
            f"spec/{name}.yaml",
        )
    root = write(workdir, {**doc, "x-padding": "a" * 1_900_000})
    spec = load_spec(root)
    spec.resolve_ref("a.yaml#/S")
    with pytest.raises(SpecLoadError) as raised:
        spec.resolve_ref("b.yaml#/S")
    assert str(raised.value) == (
        f"spec/b.yaml: the file is 1,900,032 bytes (1.8 MiB): too large; with it the spec's "
        f"files come to {spec.size + 1_900_032:,} bytes (5.4 MiB), and together they may be at "
        "most 4,194,304 bytes (4.0 MiB)"
    )


# -- through generate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "line"),
    [
        (
            lambda doc: schemas(doc)["SendEmailRequest"]["properties"].__setitem__(
                "Subject", {"type": "string", "pattern": "^(a+)+$"}
            ),
            f"{SPEC}: {SUBJECT}.pattern: the pattern '^(a+)+$' can backtrack catastrophically",
        ),
        (
            lambda doc: schemas(doc).__setitem__("A", {"$ref": "#/components/schemas/A"}),
            f"{SPEC}: components.schemas.A: $ref '#/components/schemas/A' is circular",
        ),
    ],
    ids=["pattern", "cycle"],
)
def test_generate_writes_nothing_from_such_a_spec(
    mutate: Any, line: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    mutate(doc)
    write(workdir, doc)
    code = main(["generate", "--spec", SPEC, "--out", "out"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[0].startswith(line)
    assert err.splitlines()[-1] == "nothing was generated"
    assert not (workdir / "out").exists()
