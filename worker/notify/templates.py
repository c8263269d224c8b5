"""The SMS template registry: which approved template (模板) each notification kind goes out as, at a
provider that takes no free text (Aliyun SMS, Tencent Cloud SMS), and the variables it fills in.

``XINGTU_SMS_TEMPLATES`` names a TOML file with one table per provider and kind::

    [aliyun.order_cancelled]
    template = "SMS_123456"
    variables = ["title", "cause", "creator_payout", "client_refund"]

    [tencent.acceptance_reminder]
    disabled = true

A kind's variables are all the placeholders of its text (``worker.notify.messages.TEMPLATES``), each
once, in the order the approved template numbers them; Aliyun
names them (``${title}``), Tencent numbers them in the listed order (``{1}``, ``{2}``...). Loading
refuses a file that is not valid TOML, names an unknown provider, kind, key or variable, or leaves a kind
the worker writes unmapped without ``disabled = true``; each refusal names the file, the kind and the key.

Variables are strings (Aliyun refuses numbers): the text's own rendering of each placeholder, clipped to
the provider's per-variable limit with ``…``, so a 500-character reason never makes a send fail.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.states import NotificationKind as Kind
from worker.errors import SettingsError
from worker.notify.messages import PARAMS, placeholders, shown

SETTING = "XINGTU_SMS_TEMPLATES"
PROVIDERS = ("aliyun", "tencent")
KEYS = ("template", "variables", "disabled")
CLIP = "…"


@dataclass(frozen=True)
class Template:
    """A kind's approved template at one provider; ``code`` is None for a kind sent nowhere."""

    kind: Kind
    code: str | None
    variables: tuple[str, ...] = ()

    @property
    def disabled(self) -> bool:
        return self.code is None


def variables(template: Template, params: dict[str, Any], limit: int) -> dict[str, str]:
    """The template's variables for a notification with these params, as strings of at most ``limit``
    characters (a longer one keeps its first ``limit - 1`` and ends in ``…``)."""
    view = shown(template.kind, params)
    return {name: clip(str(view[name]), limit) for name in template.variables}


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + CLIP


def load(path: Path, provider: str) -> dict[Kind, Template]:
    """The registry of ``provider`` in the file at ``path``, checked whole (see the module docstring)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{SETTING}={path}: there is no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{SETTING}={path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{SETTING}={path} is not valid TOML: {exc}") from None
    for name in document:
        if name not in PROVIDERS:
            raise SettingsError(f"{SETTING}={path}: [{name}] is not a provider; use one of {', '.join(PROVIDERS)}")
    tables = document.get(provider, {})
    if not isinstance(tables, dict):
        raise SettingsError(f"{SETTING}={path}: [{provider}] must be a table of notification kinds")
    found = {}
    for name, table in tables.items():
        if name not in set(Kind):
            raise SettingsError(
                f"{SETTING}={path}: [{provider}.{name}] is not a notification kind; the kinds are {', '.join(Kind)}"
            )
        found[Kind(name)] = _template(path, provider, Kind(name), table)
    missing = [kind.value for kind in Kind if kind not in found]
    if missing:
        raise SettingsError(
            f"{SETTING}={path}: [{provider}] maps no template for {', '.join(missing)}: give each a template and"
            " its variables, or disabled = true"
        )
    return found


def _template(path: Path, provider: str, kind: Kind, table: object) -> Template:
    where = f"{SETTING}={path}: [{provider}.{kind}]"
    if not isinstance(table, dict):
        raise SettingsError(f"{where} must be a table with template and variables")
    for key in table:
        if key not in KEYS:
            raise SettingsError(f"{where}: unknown key {key!r}; the keys are {', '.join(KEYS)}")
    if table.get("disabled") is True:
        if set(table) != {"disabled"}:
            raise SettingsError(f"{where}: a disabled kind takes no template or variables")
        return Template(kind, None)
    if "disabled" in table and table["disabled"] is not False:
        raise SettingsError(f"{where}: disabled must be true or false")
    code = table.get("template")
    if not isinstance(code, str) or not code.strip():
        raise SettingsError(f"{where}: template must be the provider's template code or id, as text")
    names = table.get("variables", [])
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise SettingsError(f"{where}: variables must be a list of names")
    known = placeholders(kind)
    for name in names:
        if name not in known:
            raise SettingsError(
                f"{where}: variables names {name!r}, which {kind}'s text does not show; it shows {', '.join(known)}"
            )
    if len(set(names)) != len(names):
        raise SettingsError(f"{where}: variables names one variable twice")
    if missing := [name for name in known if name not in names]:
        raise SettingsError(
            f"{where}: variables leaves out {', '.join(missing)}: the template must take every placeholder of"
            f" {kind}'s text ({', '.join(known)}), in any order"
        )
    return Template(kind, code.strip(), tuple(names))


# Values a notification of each kind could carry, for ``xingtu sms templates`` to show what goes out.
SAMPLE_PARAMS: dict[str, Any] = {
    "title": "夏季新品推广",
    "amount_fen": 1_000_050,
    "accept_deadline": "2026-12-03T04:00:00+00:00",
    "initiator": "client",
    "reason": "预算调整，活动取消",
    "compensation_fen": 500_025,
    "refund_fen": 500_025,
    "respond_by": "2026-12-04T04:00:00+00:00",
    "policy": "auto_confirm",
    "response": "视频已在剪辑中",
    "cancel_reason": "client_cancelled",
    "auto_confirmed": False,
    "creator_payout_fen": 500_025,
    "client_refund_fen": 500_025,
    "violation_number": 2,
    "sanction": "suspended_7d",
    "suspended_until": "2026-12-09T04:00:00+00:00",
    "status": "active",
    "cancelled_orders": 2,
}


def sample(kind: Kind) -> dict[str, Any]:
    """A notification's params for ``kind``, from ``SAMPLE_PARAMS``."""
    return {name: SAMPLE_PARAMS[name] for name in PARAMS[kind]}
