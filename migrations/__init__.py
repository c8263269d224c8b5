"""Alembic migrations, shipped inside the package so ``xingtu db upgrade`` works from any install."""

from pathlib import Path

SCRIPT_LOCATION = str(Path(__file__).parent)
