"""SQL that SQLite and PostgreSQL spell differently, written once as SQLAlchemy constructs."""

import json
from collections.abc import Sequence

from sqlalchemy import BigInteger, ColumnElement, String, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.sql.visitors import InternalTraversal

from models.audit import Json


class json_object(GenericFunction):
    """``json_object('key', value, ...)``: a JSON object built row by row in SQL (PostgreSQL calls it
    ``json_build_object``)."""

    type = Json
    inherit_cache = True


@compiles(json_object, "postgresql")
def _json_object_postgresql(element, compiler, **kw):
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


class json_bool(ColumnElement):
    """A JSON ``true``/``false`` for a condition, inside ``json_object``: SQLite has no boolean type and
    would otherwise write 1 and 0."""

    inherit_cache = True
    _traverse_internals = [("condition", InternalTraversal.dp_clauseelement)]

    def __init__(self, condition: ColumnElement[bool]):
        self.condition = condition


@compiles(json_bool)
def _json_bool_sqlite(element, compiler, **kw):
    return f"json(CASE WHEN {compiler.process(element.condition, **kw)} THEN 'true' ELSE 'false' END)"


@compiles(json_bool, "postgresql")
def _json_bool_postgresql(element, compiler, **kw):
    return f"(CASE WHEN {compiler.process(element.condition, **kw)} THEN true ELSE false END)"


class in_ids(ColumnElement):
    """``column`` is one of ``ids``, sent as a single parameter whatever their number: an array on
    PostgreSQL (``= ANY``), a JSON array on SQLite. A thousand separate parameters would be a thousand
    placeholders to render, send and parse on every batch."""

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
        ("ids_json", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[int], ids: Sequence[int]):
        self.column = column
        self.ids = bindparam(None, list(ids), type_=ARRAY(BigInteger()))
        self.ids_json = bindparam(None, json.dumps(list(ids)), type_=String())


@compiles(in_ids)
def _in_ids_sqlite(element, compiler, **kw):
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids_json, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"


@compiles(in_ids, "postgresql")
def _in_ids_postgresql(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.ids, **kw)})"
