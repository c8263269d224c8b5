"""The Celery application, for ``celery -A worker.app worker`` / ``beat`` and ``xingtu worker``.

Settings are read here, once, when the worker starts; a bad value stops it with the variable named.
"""

from worker.celery_app import make_app
from worker.errors import SettingsError
from worker.settings import Settings

try:
    settings = Settings.from_env()
except SettingsError as error:
    raise SystemExit(f"error: {error.message}") from None

app = make_app(settings)
