"""The SMS template registry (``worker.notify.templates``): the shipped example maps every kind for both
providers with today's wording; a bad file is refused naming the setting, the file, the kind and the key;
variables are the text's own strings, clipped to the provider's limit; ``xingtu sms templates`` shows them."""

import json
import re
from pathlib import Path

import pytest

from models.states import NotificationKind as Kind
from tests.cli.invoke import runner
from worker.errors import SettingsError
from worker.notify import templates
from worker.notify.messages import TEMPLATES, placeholders, render

EXAMPLE = Path(__file__).parents[2] / "deploy" / "sms-templates.example.toml"


@pytest.mark.parametrize("provider", templates.PROVIDERS)
def test_the_example_maps_every_kind_with_the_texts_placeholders(provider):
    registry = templates.load(EXAMPLE, provider)
    assert set(registry) == set(Kind)
    for kind, template in registry.items():
        assert template.code and template.variables == placeholders(kind), kind
        assert re.fullmatch(r"SMS_\d+" if provider == "aliyun" else r"\d+", template.code), template.code


def _wording(kind: Kind, provider: str) -> str:
    """Today's text of ``kind`` in the provider's placeholder style, without the signature."""
    text, names = TEMPLATES[kind].removeprefix("【星图】"), placeholders(kind)
    if provider == "aliyun":
        return re.sub(r"\{(\w+)\}", lambda m: "${" + m.group(1) + "}", text)
    return re.sub(r"\{(\w+)\}", lambda m: "{" + str(names.index(m.group(1)) + 1) + "}", text)


def test_the_example_gives_todays_wording_to_submit_for_approval():
    """The wording an operator submits stays the worker's own text: a change of a text must change it."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for provider in templates.PROVIDERS:
        for kind in Kind:
            header = lines.index(f"[{provider}.{kind.value}]")
            assert lines[header + 1] == f"# {_wording(kind, provider)}", (provider, kind)
            assert "【" not in lines[header + 1], "the provider adds the signature; templates may not hold 【】"


def test_a_disabled_kind_is_sent_nowhere(tmp_path):
    path = _file(tmp_path, disabled={Kind.ACCEPTANCE_REMINDER})
    registry = templates.load(path, "aliyun")
    assert registry[Kind.ACCEPTANCE_REMINDER].disabled and not registry[Kind.ORDER_CANCELLED].disabled


def _file(tmp_path, *, disabled=frozenset(), extra: str = "", skip=frozenset()) -> Path:
    blocks = []
    for n, kind in enumerate(Kind, 1):
        if kind in skip:
            continue
        if kind in disabled:
            blocks.append(f"[aliyun.{kind.value}]\ndisabled = true\n")
        else:
            names = ", ".join(f'"{name}"' for name in placeholders(kind))
            blocks.append(f'[aliyun.{kind.value}]\ntemplate = "SMS_{n}"\nvariables = [{names}]\n')
    path = tmp_path / "templates.toml"
    path.write_text("\n".join(blocks) + extra, encoding="utf-8")
    return path


REFUSED = [
    ("not TOML", lambda t: _file(t, extra="[aliyun.order_published\n"), r"is not valid TOML: .*line"),
    ("an unknown provider", lambda t: _file(t, extra="[twilio.order_published]\ntemplate = 'x'\n"),
     r"\[twilio\] is not a provider; use one of aliyun, tencent"),
    ("an unknown kind", lambda t: _file(t, extra="[aliyun.order_lost]\ntemplate = 'SMS_1'\n"),
     r"\[aliyun\.order_lost\] is not a notification kind"),
    ("an unknown key", lambda t: _file(t, skip={Kind.ORDER_COMPLETED}, extra="[aliyun.order_completed]\n"
     "template = 'SMS_8'\nvariables = ['title']\nsign = 'x'\n"), r"\[aliyun\.order_completed\]: unknown key 'sign'"),
    ("an unknown variable", lambda t: _file(t, skip={Kind.ORDER_COMPLETED}, extra="[aliyun.order_completed]\n"
     "template = 'SMS_8'\nvariables = ['title', 'reason']\n"),
     r"\[aliyun\.order_completed\]: variables names 'reason', which order_completed's text does not show;"
     r" it shows title, amount"),
    ("a variable left out", lambda t: _file(t, skip={Kind.ORDER_COMPLETED}, extra="[aliyun.order_completed]\n"
     "template = 'SMS_8'\nvariables = ['title']\n"), r"variables leaves out amount: the template must take every"),
    ("a variable twice", lambda t: _file(t, skip={Kind.ORDER_COMPLETED}, extra="[aliyun.order_completed]\n"
     "template = 'SMS_8'\nvariables = ['title', 'title']\n"), r"names one variable twice"),
    ("no template", lambda t: _file(t, skip={Kind.ORDER_COMPLETED}, extra="[aliyun.order_completed]\n"
     "variables = ['title']\n"), r"\[aliyun\.order_completed\]: template must be"),
    ("a disabled kind with a template", lambda t: _file(t, skip={Kind.ORDER_COMPLETED},
     extra="[aliyun.order_completed]\ndisabled = true\ntemplate = 'SMS_8'\n"), r"a disabled kind takes no template"),
    ("kinds left unmapped", lambda t: _file(t, skip={Kind.ACCOUNT_CLOSED, Kind.ACCOUNT_REOPENED}),
     r"\[aliyun\] maps no template for account_closed, account_reopened: give each a template"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=[case[0] for case in REFUSED])
def test_a_bad_file_is_refused_naming_the_setting_the_file_the_kind_and_the_key(tmp_path, case):
    _, make, says = case
    path = make(tmp_path)
    with pytest.raises(SettingsError, match=rf"^XINGTU_SMS_TEMPLATES={re.escape(str(path))}[: ].*{says}"):
        templates.load(path, "aliyun")


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="XINGTU_SMS_TEMPLATES=.*nope.toml: there is no such file"):
        templates.load(tmp_path / "nope.toml", "tencent")


def test_a_file_without_the_providers_tables_maps_nothing(tmp_path):
    with pytest.raises(SettingsError, match=r"\[tencent\] maps no template for order_published, "):
        templates.load(_file(tmp_path), "tencent")


def test_variables_are_the_texts_own_strings():
    registry = templates.load(EXAMPLE, "aliyun")
    params = templates.sample(Kind.ORDER_CANCELLED) | {"reason": "预算调整", "creator_payout_fen": 500_025}
    assert templates.variables(registry[Kind.ORDER_CANCELLED], params, 35) == {
        "title": "夏季新品推广", "cause": "客户取消（预算调整）", "creator_payout": "5,000.25", "client_refund": "5,000.25",
    }  # fmt: skip
    sanction = templates.variables(registry[Kind.SANCTION_APPLIED], templates.sample(Kind.SANCTION_APPLIED), 35)
    assert sanction == {"violation_number": "2", "penalty": "账号已被封禁至2026-12-09 12:00，期间无法接单"}
    published = templates.variables(registry[Kind.ORDER_PUBLISHED], templates.sample(Kind.ORDER_PUBLISHED), 35)
    assert published["accept_deadline"] == "2026-12-03 12:00"  # 04:00 UTC, shown in Asia/Shanghai


def test_a_long_value_is_clipped_to_the_providers_limit():
    registry = templates.load(EXAMPLE, "tencent")
    params = templates.sample(Kind.CANCELLATION_REQUESTED) | {"reason": "理" * 500, "title": "题" * 100}
    found = templates.variables(registry[Kind.CANCELLATION_REQUESTED], params, 35)
    assert found["reason"] == "理" * 34 + "…" and found["title"] == "题" * 34 + "…"
    assert all(len(value) <= 35 for value in found.values())
    assert templates.variables(registry[Kind.CANCELLATION_REQUESTED], params, 20)["reason"] == "理" * 19 + "…"
    assert templates.clip("恰好", 2) == "恰好"


def test_xingtu_sms_templates_shows_what_each_kind_sends(tmp_path):
    xingtu = runner(f"sqlite:///{tmp_path / 'unused.db'}")  # no database is opened
    shown = xingtu("--json", "sms", "templates", "--provider", "aliyun", env={"XINGTU_SMS_TEMPLATES": str(EXAMPLE)})
    assert shown.code == 0, shown.stderr
    rows = {row["kind"]: row for row in json.loads(shown.stdout)}
    assert set(rows) == {kind.value for kind in Kind}
    completed = rows["order_completed"]
    assert completed == {
        "kind": "order_completed", "provider": "aliyun", "template": "SMS_900000008",
        "variables": {"title": "夏季新品推广", "amount": "10,000.50"},
        "text": render(Kind.ORDER_COMPLETED, templates.sample(Kind.ORDER_COMPLETED)),
    }  # fmt: skip
    people = xingtu("sms", "templates", env={"XINGTU_SMS_SENDER": "tencent", "XINGTU_SMS_TEMPLATES": str(EXAMPLE)})
    assert people.code == 0 and "tencent template 1900008" in people.stdout and "amount = 10,000.50" in people.stdout
    unset = xingtu("--json", "sms", "templates", "--provider", "tencent")
    assert unset.code == 1 and unset.json["error"]["code"] == "invalid_setting"
    assert "XINGTU_SMS_TEMPLATES is not set" in unset.json["error"]["message"]
    plain = xingtu("--json", "sms", "templates")  # the console sender: today's texts with sample values
    assert plain.code == 0 and all(row["provider"] is None and "template" not in row for row in plain.json)
