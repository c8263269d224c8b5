"""The Celery application, for ``celery -A worker.app worker`` / ``beat`` (``xingtu worker`` builds the
same app from the same settings).

Settings are read here, once, when the worker starts; a bad value stops it with the variable named. So
is how the process logs (XINGTU_LOG_FORMAT), before Celery sets its logging up.
"""

from worker.errors import SettingsError
from worker.runtime import logs
from worker.runtime.celery_config import make_app
from worker.settings import Settings

try:
    settings = Settings.from_env()
except SettingsError as error:
    raise SystemExit(f"error: {error.message}") from None

app = make_app(settings)
logs.install(settings.log_format, app)
