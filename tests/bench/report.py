"""The results as a console table and as the Markdown block kept in tests/bench/README.md."""

from __future__ import annotations

from pathlib import Path

from harness import Results, Row, fmt_bytes, fmt_time


def _value(row: Row) -> str:
    if row.value is None:
        return "n/a"
    if row.unit == "B":
        return fmt_bytes(row.value)
    if row.unit == "x":
        return f"{row.value:.2f}x"
    if row.unit == "files":
        return f"{row.value:.0f} files"
    return fmt_time(row.value)


def _ratio(row: Row) -> str:
    return "" if row.ratio is None else f"{row.ratio:.2f}x"


def _target(row: Row) -> str:
    if row.wanted:
        return row.wanted
    if row.limit is not None:
        limit = Row(row.section, row.name, row.limit, row.unit)
        return f"<= {_value(limit)}"
    return "" if row.target is None else f"<= {row.target:.2f}x"


def _sections(results: Results) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = {}
    for row in results.rows:
        grouped.setdefault(row.section, []).append(row)
    return grouped


def render_console(results: Results) -> str:
    lines: list[str] = []
    for section, rows in _sections(results).items():
        lines.append(f"== {section}")
        for row in rows:
            verdict = f"{_target(row)} {row.verdict}".strip()
            lines.append(
                f"  {row.name:58.58} {_value(row):>10} {_ratio(row):>7}  {verdict:18} {row.note}"
            )
    if results.missed:
        lines.append("")
        lines.append("MISSED targets: " + "; ".join(results.missed))
    elif results.rows:
        lines.append("")
        lines.append("every target met")
    for note in results.notes:
        lines.append("")
        lines.append(note)
    return "\n".join(lines)


def render_markdown(results: Results, header: list[str], command: str, elapsed: float) -> str:
    lines = [f"Command: `{command}` (took {elapsed:.0f} s)", ""]
    lines.extend(f"- {line}" for line in header)
    lines.append("")
    lines.append("| section | contender | median | ratio | target | |")
    lines.append("| --- | --- | ---: | ---: | --- | --- |")
    for section, rows in _sections(results).items():
        for row in rows:
            lines.append(
                f"| {section} | {row.name} | {_value(row)} | {_ratio(row)} | "
                f"{_target(row)} | {row.verdict} |"
            )
    if results.notes:
        lines.append("")
        lines.append("```text")
        lines.append("\n\n".join(results.notes))
        lines.append("```")
    return "\n".join(lines) + "\n"


def write_readme(readme: Path, markdown: str, start: str, end: str) -> None:
    """Replace the figures between the two markers, keeping the rest of the README as it is."""
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: the markers {start} and {end} are missing")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{markdown}{end}{after}", encoding="utf-8")
