"""``xingtu receipts serve``: take the providers' delivery receipts over HTTP."""

import logging

import click

from worker.cli.context import App, pass_app
from worker.cli.values import PORT
from worker.errors import SettingsError

LOG_LEVELS = ["debug", "info", "warning", "error"]


@click.group(help="Delivery receipts (状态报告) from the SMS providers.")
def receipts() -> None:
    pass


@receipts.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", type=PORT, default=8090, show_default=True, help="Port to listen on.")
@click.option("--loglevel", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="info", show_default=True)
@pass_app
def serve(app: App, host: str, port: int, loglevel: str) -> None:
    """Take Aliyun's SmsReport pushes on POST /receipts/aliyun/TOKEN and Tencent Cloud's status callbacks
    on POST /receipts/tencent/TOKEN, TOKEN being XINGTU_RECEIPTS_TOKEN; each receipt moves its sent
    notification to delivered or undelivered. Register those URLs (behind your HTTPS proxy) with the
    provider."""
    try:
        from worker.runtime import receipt_endpoint  # the optional extra xingtu-worker[receipts]
    except ImportError as exc:
        raise SettingsError(
            f"xingtu receipts serve needs the receipts extra: pip install 'xingtu-worker[receipts]' ({exc.name} is"
            " missing)"
        ) from None
    logging.getLogger("worker").setLevel(loglevel.upper())  # each push's outcomes are logged at INFO
    endpoint = receipt_endpoint.make_app(app.settings.receipts_token, app.sessions())  # checks the database too
    try:
        receipt_endpoint.serve(endpoint, host, port, log_level=loglevel.lower())
    except OSError as exc:
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
