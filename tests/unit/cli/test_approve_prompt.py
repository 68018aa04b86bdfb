"""`rollbook approve` shows, then asks, then signs, with control characters shown escaped (issue #22)."""

import io
import json
import subprocess

import pytest

from rollbook import cli
from rollbook.cli.approve import escaped
from rollbook.pipeline.plan import Plan, digest_of

SNEAKY = "VISION_PHASH_ENABLED: true -> false\x1b[2K\rVISION_PHASH_ENABLED: unchanged"


def plan_file(tmp_path, changes=("VISION_PHASH_ENABLED: true -> false",), environment="prod"):
    plan = Plan()
    plan.add("w1", "vision", units={"b": "rolled_back"}, steps=["Set the vision flags in /opt/vision/.env"],
             changes=list(changes))
    document = plan.document(environment, "deploys/vision_rollback.py", {"vision_waves": "b"})
    document["digest"] = digest_of(document)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    return path, document


@pytest.fixture
def key(tmp_path):
    key = tmp_path / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


class Terminal(io.StringIO):
    """The approver's stdin: records what stderr showed, and whether anything was signed, when it is read."""

    def __init__(self, answer: str, capsys, out):
        super().__init__(answer)
        self.capsys, self.out, self.seen, self.signed_before = capsys, out, None, None

    def readline(self, *args):
        self.seen = self.capsys.readouterr().err
        self.signed_before = self.out.exists() or self.out.with_name(self.out.name + ".sig").exists()
        return super().readline(*args)


def run(tmp_path, key, monkeypatch, stdin, *extra, plan=None):
    path = plan or plan_file(tmp_path)[0]
    out = tmp_path / "approval.json"
    terminal = Terminal(stdin, None, out) if isinstance(stdin, str) else stdin
    monkeypatch.setattr("sys.stdin", terminal)
    code = cli.main(["approve", "--plan", str(path), "--approver", "alice@example.com", "--key", str(key),
                     "--reason", "INC-22", "--out", str(out), *extra])
    return code, out


@pytest.fixture
def ask(tmp_path, key, monkeypatch, capsys):
    def ask(answer, *extra, plan=None):
        out = tmp_path / "approval.json"
        terminal = Terminal(answer, capsys, out)
        code, _ = run(tmp_path, key, monkeypatch, terminal, *extra, plan=plan)
        rest = capsys.readouterr()
        return code, out, terminal, (terminal.seen or "") + rest.err, rest.out
    return ask


def test_the_plan_is_shown_before_the_question_and_nothing_is_signed_before_the_answer(ask):
    code, out, terminal, err, stdout = ask("y\n")
    assert terminal.seen is not None and not terminal.signed_before
    assert "plan of deploys/vision_rollback.py in prod on 1 host(s)" in terminal.seen
    assert "VISION_PHASH_ENABLED: true -> false" in terminal.seen
    assert terminal.seen.index("plan digest: sha256:") < terminal.seen.index("Sign this plan (digest sha256:")
    assert terminal.seen.rstrip().endswith("[y/N]")
    assert code == 0 and out.is_file() and out.with_name(out.name + ".sig").is_file()
    assert "plan digest: sha256:" in stdout and "written to" in stdout


@pytest.mark.parametrize("answer", ["y\n", "yes\n", " YES \n", "Y"])
def test_yes_signs(ask, answer):
    code, out, _, _, _ = ask(answer)
    assert code == 0 and json.loads(out.read_text())["approver"] == "alice@example.com"


@pytest.mark.parametrize("answer", ["n\n", "\n", "", "no\n", "yes please\n", "sure\n"])
def test_anything_but_yes_signs_nothing_and_says_so_in_one_line(ask, answer):
    code, out, _, err, stdout = ask(answer)
    assert code == 1 and not out.exists() and not out.with_name(out.name + ".sig").exists()
    # (on a terminal the approver's Enter ends the prompt's line; captured here, the refusal follows it)
    assert err.count("rollbook:") == 1 and err.endswith(
        "rollbook: not signed: the approver did not answer yes; no approval written\n")
    assert stdout == ""


def test_no_stdin_at_all_signs_nothing(tmp_path, key, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", None)
    out = tmp_path / "approval.json"
    code = cli.main(["approve", "--plan", str(plan_file(tmp_path)[0]), "--approver", "alice@example.com",
                     "--key", str(key), "--reason", "INC-22", "--out", str(out)])
    assert code == 1 and not out.exists() and "not signed" in capsys.readouterr().err


def test_yes_flag_signs_without_asking_but_still_shows_the_plan(ask):
    code, out, terminal, err, _ = ask("n\n", "--yes")
    assert code == 0 and out.is_file() and terminal.seen is None  # stdin never read
    assert "VISION_PHASH_ENABLED: true -> false" in err and "Sign this plan" not in err


def test_an_escape_sequence_and_carriage_return_in_a_change_are_shown_escaped(tmp_path, ask):
    path, document = plan_file(tmp_path, changes=[SNEAKY, "NOTE: \u202etxt.exe \x9b31m \x08"])
    code, out, terminal, err, stdout = ask("n\n", plan=path)
    assert code == 1 and not out.exists()
    assert "VISION_PHASH_ENABLED: true -> false\\x1b[2K\\rVISION_PHASH_ENABLED: unchanged" in terminal.seen
    assert "NOTE: \\u202etxt.exe \\x9b31m \\x08" in terminal.seen
    assert not any(char in terminal.seen + err + stdout for char in "\x1b\r\x08\x9b\u202e")


def test_an_escaped_plan_still_signs_its_real_digest(tmp_path, ask):
    path, document = plan_file(tmp_path, changes=[SNEAKY])
    code, out, _, _, _ = ask("y\n", plan=path)
    assert code == 0 and json.loads(out.read_text())["digest"] == document["digest"]


def test_a_self_service_plan_is_refused_before_anything_is_shown_or_asked(tmp_path, ask):
    path, _ = plan_file(tmp_path, environment="staging")
    code, out, terminal, err, _ = ask("y\n", plan=path)
    assert code == 1 and terminal.seen is None and not out.exists() and "self-service" in err


def test_a_bad_hours_is_refused_before_the_question(ask):
    code, out, terminal, err, _ = ask("y\n", "--hours", "9")
    assert code == 1 and terminal.seen is None and not out.exists() and "at most 4 hours" in err


@pytest.mark.parametrize("text, shown", [
    ("plain: a -> b", "plain: a -> b"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("a\rb\nc\td\x00\x7f", "a\\rb\\nc\\td\\x00\\x7f"),
    ("\x85\x9f", "\\x85\\x9f"),
    ("\u202a\u202e\u2066\u2069", "\\u202a\\u202e\\u2066\\u2069"),
    ("é ü 日本 ✓", "é ü 日本 ✓"),
])
def test_escaped(text, shown):
    assert escaped(text) == shown
