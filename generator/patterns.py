"""Which regular expressions a spec may hold: those that cannot backtrack catastrophically.

A schema's `pattern` reaches the generated client and fake (Python's `re`), the JSON Schema
validators and the MCP tool schemas that agents' hosts check arguments with (often JavaScript):
all backtracking engines. `^(a+)+$` takes seconds on 27 characters there, doubling with each one
more. The check reads the pattern as written (not as one engine optimises it) and refuses, inside
a group repeated more than once (`*`, `+`, `{2,}`, `{0,5}`):

- a quantifier that matches a varying number of times (`(a+)+`, `(ab?)*`, `(x{1,3})+`): the
  repeated text can be split between the two quantifiers in exponentially many ways;
- an alternation whose branches can start with the same character, or can both be empty
  (`(a|a)*`, `(a|\\w)+`, `(ab|ac)*`): each repetition may take either branch.

Only the syntax both engines read alike is accepted: no back-references, named or atomic groups,
possessive quantifiers, inline flags, `\\A` or `\\Z`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

MAX_CODE_POINT = 0x10FFFF
UNBOUNDED = -1


class PatternError(Exception):
    """The pattern is not one the check can read; the message says what and where."""


# -- character sets: sorted, disjoint, inclusive code point ranges ---------------------------------

Ranges = tuple[tuple[int, int], ...]


def _normal(ranges: list[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def _complement(ranges: Ranges) -> Ranges:
    result, start = [], 0
    for low, high in ranges:
        if low > start:
            result.append((start, low - 1))
        start = high + 1
    if start <= MAX_CODE_POINT:
        result.append((start, MAX_CODE_POINT))
    return tuple(result)


def _overlap(a: Ranges, b: Ranges) -> bool:
    return any(
        low <= other_high and other_low <= high for low, high in a for other_low, other_high in b
    )


# Beyond ASCII, \d, \w and \s match many characters: every non-ASCII one is taken to be possible.
_NON_ASCII = ((0x80, MAX_CODE_POINT),)
_CLASSES: dict[str, Ranges] = {
    "d": _normal([(0x30, 0x39), *_NON_ASCII]),
    "w": _normal([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A), *_NON_ASCII]),
    "s": _normal([(0x09, 0x0D), (0x1C, 0x20), *_NON_ASCII]),
}
_CLASSES.update({k.upper(): _normal([*_complement(v), *_NON_ASCII]) for k, v in _CLASSES.items()})
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a", "0": "\0"}
_ZERO_WIDTH_ESCAPES = frozenset("bB")
# Group openings both engines read alike: non-capturing, lookahead and lookbehind.
_GROUP_PREFIX = re.compile(r"\?(?::|=|!|<=|<!)")


def _not_shared(what: str, at: int) -> PatternError:
    return PatternError(
        f"{what} at character {at + 1} is not read alike by Python and JavaScript, which both "
        "check this pattern"
    )


# -- the parsed pattern ------------------------------------------------------------------------


@dataclass
class Node:
    """One piece of a pattern, with what the check needs to know about it."""

    kind: str  # "char", "seq", "alt", "repeat", "empty"
    at: int  # where it starts in the pattern (0-based)
    chars: Ranges = ()  # for "char": what it matches
    items: list[Node] = field(default_factory=list)  # seq and alt members; a repeat's body
    low: int = 0
    high: int = 1  # UNBOUNDED, or the most times a repeat matches
    text: str = ""  # a repeat's quantifier as written
    mark: int = 0  # where a repeat's quantifier starts

    @property
    def nullable(self) -> bool:
        if self.kind == "char":
            return False
        if self.kind == "seq":
            return all(item.nullable for item in self.items)
        if self.kind == "alt":
            return any(item.nullable for item in self.items)
        if self.kind == "repeat":
            return self.low == 0 or self.items[0].nullable
        return True

    @property
    def first(self) -> Ranges:
        """The characters a match of this node can start with."""
        if self.kind == "char":
            return self.chars
        found: list[tuple[int, int]] = []
        if self.kind == "seq":
            for item in self.items:
                found.extend(item.first)
                if not item.nullable:
                    break
        elif self.kind in ("alt", "repeat"):
            for item in self.items:
                found.extend(item.first)
        return _normal(found)


class _Parser:
    """A reader of the regular-expression syntax that Python and JavaScript share."""

    def __init__(self, pattern: str):
        self.text = pattern
        self.pos = 0

    def parse(self) -> Node:
        node = self.alternation()
        if self.pos < len(self.text):
            raise PatternError(f"unbalanced ')' at character {self.pos + 1}")
        return node

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def alternation(self) -> Node:
        start = self.pos
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else Node("alt", start, items=branches)

    def sequence(self) -> Node:
        start = self.pos
        items = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.quantified(self.atom()))
        return Node("seq", start, items=items)

    def quantified(self, node: Node) -> Node:
        start = self.pos
        bounds = self.quantifier()
        if bounds is None:
            return node
        low, high = bounds
        if self.peek() == "+":
            raise _not_shared("a possessive quantifier", start)
        if self.peek() == "?":  # lazy: tries the same ways, in another order
            self.pos += 1
        text = self.text[start : self.pos]
        return Node("repeat", node.at, items=[node], low=low, high=high, text=text, mark=start)

    def quantifier(self) -> tuple[int, int] | None:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.pos += 1
            return {"*": (0, UNBOUNDED), "+": (1, UNBOUNDED), "?": (0, 1)}[char]
        match = re.compile(r"\{(\d*)(,?)(\d*)\}").match(self.text, self.pos)
        if char != "{" or match is None or not (match.group(1) or match.group(3)):
            return None  # a `{` that is no quantifier is a literal, in both engines
        if not match.group(1):
            raise _not_shared(f"{match.group()!r} (JavaScript reads it as text)", self.pos)
        self.pos = match.end()
        low = int(match.group(1) or 0)
        if not match.group(2):
            return low, low
        return low, int(match.group(3)) if match.group(3) else UNBOUNDED

    def atom(self) -> Node:
        start, char = self.pos, self.peek()
        self.pos += 1
        if char == "(":
            return self.group(start)
        if char == "[":
            return Node("char", start, chars=self.char_class())
        if char == ".":
            return Node("char", start, chars=_complement(((0x0A, 0x0A),)))
        if char in ("^", "$"):
            return Node("empty", start)
        if char == "\\":
            return self.escape(start)
        if char in ("*", "+", "?"):
            raise PatternError(f"nothing to repeat at character {start + 1}")
        return self.literal(start, char)

    def literal(self, start: int, char: str) -> Node:
        return Node("char", start, chars=((ord(char), ord(char)),))

    def escape(self, start: int) -> Node:
        char = self.peek()
        if not char:
            raise PatternError("the pattern ends in a lone backslash")
        self.pos += 1
        if char in _CLASSES:
            return Node("char", start, chars=_CLASSES[char])
        if char in _ZERO_WIDTH_ESCAPES:
            return Node("empty", start)
        if char.isdigit() and char != "0":
            raise PatternError(
                f"'\\{char}' at character {start + 1} is a back-reference, whose backtracking "
                "has no bound the check can see; a pattern may hold none"
            )
        if char in "AZ":
            raise _not_shared(f"'\\{char}'", start)
        return self.literal(start, self.escaped_char(char, start))

    def escaped_char(self, char: str, start: int) -> str:
        if char in _ESCAPED:
            return _ESCAPED[char]
        size = {"x": 2, "u": 4}.get(char)
        if size is None:
            return char
        digits = self.text[self.pos : self.pos + size]
        if len(digits) != size or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise PatternError(f"'\\{char}' at character {start + 1} needs {size} hex digits")
        self.pos += size
        return chr(int(digits, 16))

    def group(self, start: int) -> Node:
        if self.text.startswith("?", self.pos):
            prefix = _GROUP_PREFIX.match(self.text, self.pos)
            if prefix is None:
                raise _not_shared(
                    "the group (a named or atomic group, an inline flag or a conditional)", start
                )
            self.pos = prefix.end()
        body = self.alternation()
        if self.peek() != ")":
            raise PatternError(f"the group at character {start + 1} is not closed")
        self.pos += 1
        return body

    def char_class(self) -> Ranges:
        start = self.pos - 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            char = self.peek()
            if not char:
                raise PatternError(f"the character class at character {start + 1} is not closed")
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            low = self.class_member(ranges)
            if low is None:
                continue
            if self.peek() == "-" and self.text[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                high = self.class_member(ranges)
                if high is None or high < low:
                    raise PatternError(f"a bad range in the class at character {start + 1}")
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        result = _normal(ranges)
        return _normal([*_complement(result), *_NON_ASCII]) if negated else result

    def class_member(self, ranges: list[tuple[int, int]]) -> int | None:
        """One character of a class (its code point), or None for `\\d`-like members."""
        char = self.peek()
        self.pos += 1
        if char != "\\":
            return ord(char)
        escaped = self.peek()
        if not escaped:
            raise PatternError("the pattern ends in a lone backslash")
        self.pos += 1
        if escaped in _CLASSES:
            ranges.extend(_CLASSES[escaped])
            return None
        if escaped == "b":
            return 0x08
        return ord(self.escaped_char(escaped, self.pos - 2))


# -- the check ---------------------------------------------------------------------------------


def backtracking_problem(pattern: str) -> str | None:
    """Why `pattern` may backtrack catastrophically (or cannot be read), or None when it is safe."""
    try:
        with (
            warnings.catch_warnings()
        ):  # Python's "possible nested set" notes are not ours to print
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern)
    except re.error as exc:
        return f"is not a regular expression: {exc}"
    try:
        tree = _Parser(pattern).parse()
    except PatternError as exc:
        return f"cannot be checked for catastrophic backtracking: {exc}"
    return _first_problem(tree)


def _first_problem(node: Node) -> str | None:
    if node.kind == "repeat" and (node.high == UNBOUNDED or node.high > 1):
        found = _inside_repeat(node.items[0], node)
        if found is not None:
            return found
    for item in node.items:
        found = _first_problem(item)
        if found is not None:
            return found
    return None


def _inside_repeat(node: Node, outer: Node) -> str | None:
    """A piece of a repeated group that makes the repetition ambiguous."""
    where = f"the {outer.text!r} at character {outer.mark + 1} repeats"
    if node.kind == "repeat" and node.low != node.high:
        return (
            f"can backtrack catastrophically: {where} the {node.text!r} at character "
            f"{node.mark + 1}, so a long value is split between the two in "
            "exponentially many ways; repeat a fixed piece, or bound the field with maxLength "
            "and a pattern without nested quantifiers"
        )
    if node.kind == "alt":
        branches = node.items
        for i, one in enumerate(branches):
            for other in branches[i + 1 :]:
                if (one.nullable and other.nullable) or _overlap(one.first, other.first):
                    return (
                        f"can backtrack catastrophically: {where} an alternation whose "
                        f"branches at characters {one.at + 1} and {other.at + 1} can match the "
                        "same text, so every repetition may try both; make the branches start "
                        "with different characters"
                    )
    for item in node.items:
        found = _inside_repeat(item, outer)
        if found is not None:
            return found
    return None
