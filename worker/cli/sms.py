"""``xingtu sms templates``: what each notification kind sends, for an operator to compare with the
templates the provider approved."""

import click

from models.states import NotificationKind
from worker.cli.context import App, pass_app
from worker.errors import SettingsError
from worker.notify import templates
from worker.notify.messages import render


@click.group(help="SMS providers' templates.")
def sms() -> None:
    pass


@sms.command(name="templates", help="What each notification kind sends, with sample values.")
@click.option(
    "--provider",
    type=click.Choice(templates.PROVIDERS),
    help="The provider whose templates (XINGTU_SMS_TEMPLATES) to show; default XINGTU_SMS_SENDER's.",
)
@pass_app
def templates_(app: App, provider: str | None) -> None:
    settings = app.settings
    provider = provider or (settings.sms_sender if settings.sms_sender in templates.PROVIDERS else None)
    registry = None
    if provider is not None:
        if settings.sms_templates is None:
            raise SettingsError(f"XINGTU_SMS_TEMPLATES is not set: name the {provider} templates file")
        registry = templates.load(settings.sms_templates, provider)
    rows = []
    for kind in NotificationKind:
        params = templates.sample(kind)
        row = {"kind": kind.value, "text": render(kind, params), "provider": provider}
        if registry is not None:
            template = registry[kind]
            row["template"] = template.code
            row["variables"] = (
                None if template.disabled else templates.variables(template, params, settings.sms_variable_max)
            )
        rows.append(row)
    app.emit_rows(rows, dict, "KIND / TEMPLATE / VARIABLES / TEXT", _row)


def _row(row: dict) -> str:
    lines = [row["kind"]]
    if row["provider"] is not None:
        if row["template"] is None:
            lines.append(f"  {row['provider']}: disabled (not sent)")
        else:
            lines.append(f"  {row['provider']} template {row['template']}")
            lines += [f"    {name} = {value}" for name, value in row["variables"].items()]
    lines.append(f"  text: {row['text']}")
    return "\n".join(lines)
