"""The tamper-evident trail and the ``users`` and ``audit`` commands: the chain verifies when
untouched and names the first broken entry after any edit made with sqlite3 behind the app's back;
approvals racing each other all land, in one consistent order, with the last sheet equal to the
newest recorded approval."""

import hashlib
import io
import json
import sqlite3
import threading

import pytest

from pricing.access import Approvals, Identity, Operator, Role, Subject, UserDirectory, verify
from pricing.access.audit import GENESIS, canonical_json, entries, entry_hash
from pricing.access.database import connect
from pricing.app.scenarios import ScenarioStore
from pricing.cli import main as cli_main
from pricing.cli.users import read_password
from tests.conftest import DATA
from tests.fast_hashing import fast_hashing  # noqa: F401  (a fixture)

SHEET = (DATA / "last_sheet.csv").read_text()
LI = Identity("li.lei", Role.MANAGER)
WANG = Identity("wang.fang", Role.FINANCE)
ZHOU = Identity("zhou.min", Role.FINANCE)


@pytest.fixture
def store(tmp_path, fast_hashing):
    """A store with two users, three saved scenarios and two decisions: 7 trail entries."""
    users = UserDirectory(tmp_path)
    users.add("wang.fang", "finance", "first phrase 123", Operator("tester"))
    users.add("li.lei", "manager", "first phrase 123", Operator("tester"))
    scenarios = ScenarioStore(tmp_path)
    (tmp_path / "data").mkdir()
    for i in range(3):
        scenarios.save(f"s{i}", {}, {}, {}, SHEET.replace(",2949,", f",29{i}9,"), None, LI)
    scenarios.decide("s0", "rejected", WANG, "too cheap")
    scenarios.decide("s1", "approved", WANG, "fine", tmp_path / "data")
    return tmp_path


def test_the_chain_is_sha256_of_canonical_json_each_holding_the_one_before(store):
    trail = entries(connect(store))
    assert [e.seq for e in trail] == list(range(1, 8))
    assert trail[0].prev_hash == GENESIS
    for before, entry in zip(trail, trail[1:]):
        assert entry.prev_hash == before.hash
    for entry in trail:  # recomputed here by hand, independently of entry_hash
        body = {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "kind": entry.kind,
                "subject": entry.subject, "details": dict(entry.details), "prev_hash": entry.prev_hash}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(text.encode()).hexdigest() == entry.hash == entry_hash(body)
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    assert [e.kind for e in trail] == ["user_added"] * 2 + ["scenario_saved"] * 3 + ["decision"] * 2
    decision = trail[-1]
    assert (decision.actor, decision.subject, decision.details["decision"], decision.details["saved_by"]) == (
        "wang.fang", "scenario:s1", "approved", "li.lei")
    report = verify(store)
    assert report.intact and (report.entries, report.head_seq, report.head_hash) == (7, 7, trail[-1].hash)


@pytest.mark.parametrize("edit, broken, problem", [
    pytest.param("UPDATE audit SET details = replace(details, 'too cheap', 'fine') WHERE seq = 6", 6,
                 "contents do not match its hash", id="comment-in-trail-edited"),
    pytest.param("UPDATE audit SET actor = 'zhou.min' WHERE seq = 7", 7, "contents do not match", id="actor-edited"),
    pytest.param("DELETE FROM audit WHERE seq = 3", 4, "expected entry 3 next, found 4", id="entry-deleted"),
    pytest.param("UPDATE audit SET prev_hash = hash WHERE seq = 2", 2, "prev_hash does not match", id="relinked"),
    pytest.param("UPDATE approvals SET comment = 'all fine' WHERE decision = 'rejected'", 6,
                 "approvals row 1 (rejected of scenario 's0') differs from its trail entry", id="decision-edited"),
    pytest.param("UPDATE approvals SET decision = 'approved' WHERE id = 1", 6, "approvals row 1", id="flipped"),
    pytest.param("UPDATE approvals SET actor = 'zhou.min' WHERE id = 2", 7, "approvals row 2", id="approver-swapped"),
    pytest.param("DELETE FROM audit WHERE seq = 7", 7, "approvals row 2", id="last-entry-cut"),
    pytest.param("UPDATE users SET role = 'admin' WHERE username = 'li.lei'", 2, "user 'li.lei'", id="role-raised"),
    pytest.param("UPDATE users SET password_hash = 'x' WHERE username = 'wang.fang'", 1, "user 'wang.fang'",
                 id="password-swapped"),
])
def test_an_edit_with_sqlite3_is_found_and_named(store, edit, broken, problem, capsys):
    with sqlite3.connect(store / "store.sqlite") as con:
        con.execute(edit)
    report = verify(store)
    assert not report.intact
    assert report.broken_seq == broken
    assert problem in report.problem
    assert cli_main(["audit", "--store", str(store), "verify"]) == 4
    err = capsys.readouterr().err
    assert err.startswith(f"trail BROKEN at entry {broken}: ") and problem in err


def test_an_intact_trail_exits_0_and_a_kept_head_proves_no_rewrite(store, capsys):
    assert cli_main(["audit", "--store", str(store), "verify"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("trail intact: 7 entries, head 7 ")
    anchor = "7:" + line.rsplit(" ", 1)[1]
    ScenarioStore(store).decide("s2", "rejected", ZHOU, "later")
    assert cli_main(["audit", "--store", str(store), "verify", "--anchor", anchor]) == 0
    capsys.readouterr()
    # rewrite the whole chain from entry 7 on with correct hashes: the chain checks, the anchor does not
    con = connect(store)
    for entry in entries(con)[6:]:
        body = entry.body()
        body["details"]["comment"] = "rewritten"
        prev = con.execute("SELECT hash FROM audit WHERE seq = ?", (entry.seq - 1,)).fetchone()[0]
        body["prev_hash"] = prev
        con.execute("UPDATE audit SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    (canonical_json(body["details"]), prev, entry_hash(body), entry.seq))
    con.execute("UPDATE approvals SET comment = 'rewritten'")
    assert cli_main(["audit", "--store", str(store), "verify", "--anchor", anchor]) == 4
    assert "the anchor 7:" in capsys.readouterr().err
    assert cli_main(["audit", "--store", str(store), "verify", "--anchor", "7:abc"]) == 2


def test_audit_show_and_a_missing_store(store, tmp_path, capsys):
    assert cli_main(["audit", "--store", str(store), "show", "--last", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[3] for line in lines] == ["decision", "decision"]
    assert cli_main(["audit", "--store", str(tmp_path / "nowhere"), "verify"]) == 2
    assert "no store file here" in capsys.readouterr().err


def test_users_command(tmp_path, monkeypatch, capsys, fast_hashing):
    store = str(tmp_path / "st")
    monkeypatch.setattr("sys.stdin", io.StringIO("a good first phrase\n"))
    assert cli_main(["users", "--store", store, "add", "Zhou.Min", "--role", "finance"]) == 0
    assert "added zhou.min as finance" in capsys.readouterr().out
    assert cli_main(["users", "--store", store, "set-role", "zhou.min", "viewer"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("another phrase 456\n"))
    assert cli_main(["users", "--store", store, "reset-password", "zhou.min"]) == 0
    assert cli_main(["users", "--store", store, "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("zhou.min\tviewer\tnever signed in\t(must change")
    assert UserDirectory(tmp_path / "st").authenticate("zhou.min", "another phrase 456").identity.role is Role.VIEWER
    assert cli_main(["users", "--store", store, "remove", "zhou.min"]) == 0
    assert cli_main(["users", "--store", store, "remove", "zhou.min"]) == 2
    assert capsys.readouterr().err.strip() == "bad input: user: no user named 'zhou.min'"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli_main(["users", "--store", store, "add", "bob", "--role", "viewer"]) == 2
    assert "password: expected on standard input" in capsys.readouterr().err
    assert cli_main(["users", "--store", store, "add", "bob", "--role", "chief"]) == 2
    assert [e.kind for e in entries(connect(tmp_path / "st"))] == [
        "user_added", "role_changed", "password_reset", "user_removed"]
    assert all(e.actor.startswith("console:") for e in entries(connect(tmp_path / "st")))
    assert verify(tmp_path / "st").intact


@pytest.mark.parametrize("make, message", [
    pytest.param(lambda p: p.write_text("x"), "cannot open the store", id="file-as-folder"),
    pytest.param(lambda p: (p.mkdir(), (p / "store.sqlite").write_text("not a database" * 100)),
                 "cannot open the store (file is not a database)", id="not-a-database"),
])
def test_a_bad_store_is_one_line(tmp_path, capsys, make, message):
    make(tmp_path / "st")
    assert cli_main(["users", "--store", str(tmp_path / "st"), "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bad input: ") and message in err and len(err.splitlines()) == 1


def test_password_at_a_terminal_is_asked_twice_without_echo(monkeypatch):
    answers = iter(["phrase one two", "phrase one two", "phrase one two", "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert read_password(is_tty=True) == "phrase one two"
    with pytest.raises(Exception, match="the two entries differ"):
        read_password(is_tty=True)


# -- issue 14 item 5: approvals are one transaction ------------------------------------------------
PAIRS = 100


def test_approvals_racing_in_pairs_all_land_and_the_sheet_is_the_newest(tmp_path):
    """100 pairs of approvals, each pair by two finance reviewers in two threads at once, of two
    different sheets into one data folder. Every decision is recorded, the trail verifies, and the
    last sheet file equals the newest recorded approval after every pair."""
    data = tmp_path / "data"
    data.mkdir()
    approvals = Approvals(tmp_path / "store")
    sheets = [SHEET.replace(",2949,", f",{2000 + i},") for i in range(2 * PAIRS)]
    errors, disagreements = [], 0

    def approve(i: int, who: Identity, barrier: threading.Barrier) -> None:
        subject = Subject("run", f"2026-12/m{i}", sheets[i], "li.lei")
        barrier.wait()
        try:
            approvals.decide(lambda con: subject, "approved", who, f"pair {i // 2}", data)
        except Exception as exc:  # noqa: BLE001 (any failure is the finding)
            errors.append(repr(exc))

    for pair in range(PAIRS):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=approve, args=(2 * pair + k, who, barrier))
                   for k, who in enumerate((WANG, ZHOU))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        newest = approvals.history()[0]
        disagreements += (data / "last_sheet.csv").read_text() != sheets[int(newest.subject.rsplit("m", 1)[1])]
    assert errors == []
    history = approvals.history()
    assert len(history) == 2 * PAIRS
    assert sorted(d.subject for d in history) == sorted(f"2026-12/m{i}" for i in range(2 * PAIRS))
    assert disagreements == 0
    assert sorted(p.name for p in data.iterdir()) == ["last_sheet.csv"]  # no temporary file left
    report = verify(tmp_path / "store")
    assert report.intact and report.entries == 2 * PAIRS
    # the trail's order is the commit order: decision ids and trail entries rise together
    assert [d.audit_seq for d in reversed(history)] == list(range(1, 2 * PAIRS + 1))
