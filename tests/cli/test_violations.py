"""The penalty ladder through the CLI under a frozen clock: four violations, the refusals while
suspended, the lift at its instant, and the ban that never lifts."""

from freezegun import freeze_time

VIOLATION_KEYS = {"id", "creator_id", "violation_number", "sanction", "suspended_until", "at", "evidence"}


def test_four_violations(xingtu):
    xingtu("client", "add", "--name", "品牌", "--phone", "13800000001")
    assert xingtu("--json", "creator", "add", "--name", "达人", "--phone", "13900000002").json["status"] == "active"

    def record(at):
        with freeze_time(at):
            return xingtu("--json", "violation", "record", "--creator", 1, "--evidence", "私下接广告")

    def publish(at):
        with freeze_time(at):
            return xingtu(
                "--json", "order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 100, "--title", "t"
            )

    first = record("2027-01-01 02:00:00").json
    assert set(first) == VIOLATION_KEYS
    assert (first["violation_number"], first["sanction"], first["suspended_until"]) == (1, "post_takedown", None)
    assert publish("2027-01-01 03:00:00").code == 0  # a takedown does not suspend

    second = record("2027-01-02 02:00:00").json
    assert (second["sanction"], second["suspended_until"]) == ("suspended_7d", "2027-01-09T02:00:00+00:00")
    shown = xingtu("--json", "creator", "show", 1).json
    assert (shown["status"], shown["suspended_until"], shown["violations"]) == (
        "suspended", "2027-01-09T02:00:00+00:00", 2,
    )  # fmt: skip
    refused = publish("2027-01-09 01:59:59")
    assert refused.code == 1 and refused.json["error"]["code"] == "creator_sanctioned"
    assert "suspended until 2027-01-09 10:00:00 +08:00 (violation 2, suspended_7d)" in refused.stderr
    with freeze_time("2027-01-09 01:59:59"):
        assert xingtu("--json", "scan").json["lifted_suspensions"] == 0
    with freeze_time("2027-01-09 02:00:00"):
        assert xingtu("--json", "scan").json["lifted_suspensions"] == 1
    assert xingtu("--json", "creator", "show", 1).json["status"] == "active"
    assert publish("2027-01-09 02:00:00").code == 0

    third = record("2027-01-31 02:00:00").json  # 31 January: three months later April has no 31st
    assert (third["sanction"], third["suspended_until"]) == ("suspended_3m", "2027-04-30T02:00:00+00:00")
    fourth = record("2027-02-01 02:00:00").json  # during the suspension: the next step, from now
    assert (fourth["sanction"], fourth["suspended_until"]) == ("permanent_ban", None)
    with freeze_time("2037-01-01 00:00:00"):
        assert xingtu("--json", "scan").json["lifted_suspensions"] == 0
    assert xingtu("--json", "creator", "show", 1).json["status"] == "banned"
    banned = publish("2037-01-01 00:00:00")
    assert banned.code == 1 and "banned for good (violation 4, permanent_ban)" in banned.stderr

    listed = xingtu("--json", "violation", "list", "--creator", 1).json
    assert [v["sanction"] for v in listed] == ["post_takedown", "suspended_7d", "suspended_3m", "permanent_ban"]
    kinds = [n["kind"] for n in xingtu("--json", "notifications", "list").json if n["order_id"] is None]
    assert kinds == ["sanction_applied", "sanction_applied", "sanction_lifted", "sanction_applied", "sanction_applied"]
    text = xingtu("violation", "list", "--creator", 1).stdout
    assert "suspended_7d    2027-01-09 10:00:00 +08:00  私下接广告" in text


def test_bad_violation_input(xingtu):
    xingtu("creator", "add", "--name", "达人", "--phone", "13900000002")
    blank = xingtu("--json", "violation", "record", "--creator", 1, "--evidence", "  ")
    assert blank.code == 1 and blank.json["error"]["code"] == "invalid_evidence"
    assert (
        xingtu("--json", "violation", "record", "--creator", 9, "--evidence", "e").json["error"]["code"] == "not_found"
    )
    assert xingtu("--json", "violation", "list", "--creator", 9).json["error"]["code"] == "not_found"
    assert xingtu("--json", "violation", "record", "--creator", 1).code == 2
    assert xingtu("--json", "creator", "show", 1).json["violations"] == 0
