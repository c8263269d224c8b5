"""The kinds of whole number the commands take, one click type each, so that every option of a kind
parses alike, reads alike in help (``--client ID``, not its bounds) and is refused alike.

The shape of a value is the command line's business: one that is not a whole number, or not one its kind
can be (an id from 1, a port to 65535), is a usage error (exit 2) naming the option. What the rules allow
of a well-formed value is theirs to refuse, as the task API does: an amount of 0 fen is a whole number,
refused ``invalid_amount`` (exit 1).
"""

import re

import click

# Row ids and stored figures are 64-bit: anything past this is refused here, not overflowed in the database.
LARGEST_STORED = 2**63 - 1

# ASCII digits (int() alone would take "1_0" and "١"), at most 100: far past every bound, and short of
# the 640 digits below which Python always converts.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,100}")


class WholeNumber(click.ParamType):
    """A whole number of one kind: ``metavar`` in help, ``noun`` in errors, from ``least`` to ``most``
    when the kind has them."""

    def __init__(self, metavar: str, noun: str, least: int | None = None, most: int | None = None) -> None:
        self.name, self.metavar, self.least, self.most = noun, metavar, least, most

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return self.metavar

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()  # a default comes as an int
        number = int(text) if _WHOLE_NUMBER.fullmatch(text) else None
        if number is None or self.least is not None and number < self.least:
            takes = "a whole number" if self.least is None else f"a whole number from {self.least}"
            self.fail(f"{value!r} is not {self.name} ({takes})", param, ctx)
        if self.most is not None and number > self.most:
            self.fail(f"{value!r} is not {self.name} (at most {self.most})", param, ctx)
        return number


ID = WholeNumber("ID", "an ID", least=1, most=LARGEST_STORED)
# Whether a whole number is an amount an order can have (1 fen to the maximum) is the rules' to say.
FEN = WholeNumber("FEN", "an amount in fen")
FIGURE = WholeNumber("N", "a figure", least=0, most=LARGEST_STORED)  # a creator's followers, average plays
COUNT = WholeNumber("N", "a count", least=1, most=LARGEST_STORED)  # how many: rows listed, worker processes
PORT = WholeNumber("PORT", "a port", least=1, most=65_535)
