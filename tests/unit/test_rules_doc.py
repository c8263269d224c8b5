"""docs/rules.md keeps up with the code: every value a user meets of the enums in ``models.states`` is
written there as ``code``, each in a row of its own table, and every setting's environment variable has
a row of the Settings table with the code's default. No database; the page is read once."""

import dataclasses
import re
from datetime import timedelta
from enum import Enum
from pathlib import Path

import pytest

from models.states import (
    CancelReason,
    ClientEventKind,
    ClientStatus,
    CreatorEventKind,
    CreatorStatus,
    LedgerKind,
    NotificationKind,
    NotificationStatus,
    OrderEventKind,
    OrderStatus,
    RequestStatus,
    Role,
    Sanction,
    TimeoutPolicy,
)
from worker.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
TEXT = DOC.read_text(encoding="utf-8")

# The enums whose values users meet (in the CLI's and the task API's answers, the SMS and the trails), each
# with the table of docs/rules.md that gives every value a row: (the table's first header cell, the column
# whose cells start with the value). Roles have no table of their own; they are checked in the text only.
TABLES = {
    OrderStatus: ("status", "status"),
    RequestStatus: ("request status", "request status"),
    CancelReason: ("`cancel_reason`", "`cancel_reason`"),
    NotificationKind: ("kind", "kind"),
    NotificationStatus: ("notification status", "notification status"),
    CreatorStatus: ("creator status", "creator status"),
    ClientStatus: ("client status", "client status"),
    Sanction: ("violation", "`sanction`"),
    TimeoutPolicy: ("`XINGTU_CANCEL_TIMEOUT_POLICY`", "`XINGTU_CANCEL_TIMEOUT_POLICY`"),
    LedgerKind: ("ledger entry", "ledger entry"),
    OrderEventKind: ("order event", "order event"),
    CreatorEventKind: ("creator event", "creator event"),
    ClientEventKind: ("client event", "client event"),
}
ENUMS = (*TABLES, Role)
VALUES = [pytest.param(member, id=f"{type(member).__name__}.{member.name}") for enum in ENUMS for member in enum]
SETTINGS = [pytest.param(field, id=field.metadata["env"]) for field in dataclasses.fields(Settings)]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _tables() -> list[list[list[str]]]:
    """Every table of the page: its header row's cells, then each body row's."""
    tables, rows = [], []
    for line in TEXT.splitlines() + [""]:
        if line.startswith("|"):
            rows.append(_cells(line))
        elif rows:
            tables.append([rows[0], *rows[2:]])  # without the |---| row
            rows = []
    return tables


def _column(first_header: str, column: str) -> list[str]:
    """The value (the leading ``code``) of each row in ``column`` of the table whose first header cell
    is ``first_header``."""
    found = [table for table in _tables() if table[0][0] == first_header]
    assert len(found) == 1, f"docs/rules.md has {len(found)} tables headed {first_header!r}, not one"
    header, *rows = found[0]
    index = header.index(column)
    values = [re.match(r"`([^`]+)`", row[index]) for row in rows]
    assert all(values), f"in the table headed {first_header!r}, a {column!r} cell does not start with a `value`"
    return [value.group(1) for value in values]


def _settings_rows() -> dict[str, list[str]]:
    """The cells of each row of the table under "## Settings" whose first cell is a variable."""
    section = TEXT.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return {_cells(line)[0].strip("`"): _cells(line) for line in section.splitlines() if line.startswith("| `XINGTU_")}


def _shown(default: object) -> str:
    """A default as the settings table writes it: as it would be typed, or ``(none)``."""
    if default is None or default == "":
        return "(none)"
    if isinstance(default, timedelta):
        seconds = int(default.total_seconds())
        text = f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds}s"
    elif isinstance(default, tuple):
        text = ",".join(default)
    elif isinstance(default, Enum):
        text = default.value
    else:
        text = str(default)
    return f"`{text}`"


@pytest.mark.parametrize("member", VALUES)
def test_every_value_is_written(member):
    assert f"`{member.value}`" in TEXT, f"docs/rules.md never writes `{member.value}` ({type(member).__name__})"


@pytest.mark.parametrize("enum", TABLES, ids=lambda enum: enum.__name__)
def test_every_value_has_one_row_of_its_table(enum):
    rows = _column(*TABLES[enum])
    values = [member.value for member in enum]
    assert sorted(rows) == sorted(values), (
        f"{enum.__name__}: docs/rules.md lacks {sorted(set(values) - set(rows))}, has no such"
        f" {sorted(set(rows) - set(values))}, or writes one twice"
    )


@pytest.mark.parametrize("field", SETTINGS)
def test_every_setting_is_in_the_table_with_its_default(field):
    env = field.metadata["env"]
    rows = _settings_rows()
    assert env in rows, f"the Settings table of docs/rules.md has no row for `{env}`"
    assert rows[env][1] == _shown(field.default), (
        f"`{env}`: the table says {rows[env][1]}, the code's default is {_shown(field.default)}"
    )


def test_the_settings_table_names_only_settings():
    known = {field.metadata["env"] for field in dataclasses.fields(Settings)}
    assert set(_settings_rows()) <= known, f"not settings: {sorted(set(_settings_rows()) - known)}"


def test_the_page_stands_alone():
    assert "SPEC" not in TEXT and "shared/" not in TEXT


def _anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule: lower case, punctuation dropped,
    spaces to hyphens)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_within_the_page_lead_somewhere():
    anchors = {_anchor(heading) for heading in re.findall(r"^#+ (.+)$", TEXT, flags=re.MULTILINE)}
    links = set(re.findall(r"\]\(#([^)]+)\)", TEXT))
    assert links <= anchors, f"links to no heading: {sorted(links - anchors)}"
