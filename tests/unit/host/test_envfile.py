"""Env-file plans: only managed keys change, every other byte stays, secrets are never shown."""

import subprocess

import pytest

from rollbook.host import envfile
from rollbook.core.preflight import PreflightError

from ..harness import fake_host

ORIGINAL = (
    "# header comment\n"
    "GIGACHAT_CLIENT_SECRET=s3cr3t=with=equals\n"
    "VISION_PHASH_ENABLED=true\n"
    "  INDENTED=keep me\n"
    "DATABASE_URL=postgresql://vision:pw@127.0.0.1/vision\n"
    "VISION_ROI_CROP_ENABLED=true"  # no newline at the end
)


def apply(tmp_path, text: str, target: dict) -> str:
    path = tmp_path / ".env"
    path.write_text(text)
    plan = envfile.plan_changes(envfile.parse(text, target), target)
    subprocess.run(["sh", "-c", str(envfile.edit_command(str(path), plan))], check=True)
    return path.read_text()


def test_only_the_planned_keys_change_and_every_other_byte_stays(tmp_path):
    result = apply(tmp_path, ORIGINAL, {"VISION_PHASH_ENABLED": "false", "VISION_ROI_CROP_ENABLED": "true"})
    assert result == ORIGINAL.replace("VISION_PHASH_ENABLED=true", "VISION_PHASH_ENABLED=false")


def test_a_missing_key_is_appended_on_its_own_line(tmp_path):
    result = apply(tmp_path, ORIGINAL, {"FEATURE_VISION_COMPRESSION_POC": "false"})
    assert result == ORIGINAL + "\nFEATURE_VISION_COMPRESSION_POC=false\n"


def test_applying_the_plan_twice_changes_nothing(tmp_path):
    target = {"VISION_PHASH_ENABLED": "false", "NEW_KEY": "1"}
    once = apply(tmp_path, ORIGINAL, target)
    assert envfile.plan_changes(envfile.parse(once, target), target) == []


def test_describe_shows_only_public_keys_and_masks_every_other_value():
    plan = envfile.plan_changes({"VISION_PHASH_ENABLED": "true", "API_TOKEN": "abc", "PLAIN_NAME": "x"},
                                {"VISION_PHASH_ENABLED": "false", "API_TOKEN": "xyz", "PLAIN_NAME": "y", "NEW": "1"})
    assert envfile.describe(plan, public={"VISION_PHASH_ENABLED", "NEW"}) == [
        "VISION_PHASH_ENABLED: true -> false", "API_TOKEN: *** -> ***", "PLAIN_NAME: *** -> ***", "NEW: (unset) -> 1"]
    assert envfile.describe(plan) == [  # no public list: nothing shown, whatever the names say
        "VISION_PHASH_ENABLED: *** -> ***", "API_TOKEN: *** -> ***", "PLAIN_NAME: *** -> ***", "NEW: (unset) -> ***"]


def test_a_key_is_public_only_when_listed_never_by_its_name():
    assert not envfile.is_public("VISION_MAX_OUTPUT_TOKENS") and not envfile.is_public("DATABASE_URL")
    assert envfile.is_public("DATABASE_URL", {"DATABASE_URL"})
    assert envfile.shown("A", "<hidden 0123456789abcdef0123456789abcdef>", {"A"}) == "***"  # never a digest


def test_public_keys_are_the_managed_keys_plus_the_listed_ones():
    assert envfile.public_keys({}, ["VISION_PHASH_ENABLED"]) == {"VISION_PHASH_ENABLED"}
    data = {"rollbook_public_env_keys": ["LOG_LEVEL", " WORKERS "]}
    assert envfile.public_keys(data, ("A",)) == {"A", "LOG_LEVEL", "WORKERS"}
    assert envfile.public_keys({"rollbook_public_env_keys": "LOG_LEVEL,WORKERS"}) == {"LOG_LEVEL", "WORKERS"}
    with pytest.raises(PreflightError, match="rollbook_public_env_keys: 'A B'"):
        envfile.public_keys({"rollbook_public_env_keys": ["A B"]})


def test_the_operation_announces_masked_values_and_refuses_to_write_a_hidden_one():
    hidden = "<hidden 0123456789abcdef0123456789abcdef>"
    with fake_host():
        commands = [str(c) for c in envfile.keys._inner("/x/.env", {"A": "1", "S": hidden}, {"A": "2", "S": hidden},
                                                        public={"A"})]
    assert len(commands) == 2 and "A=2" in commands[1] and "S" not in commands[1].replace("sed", "")
    with fake_host(), pytest.raises(ValueError, match="S: a hidden value can only be copied"):
        list(envfile.keys._inner("/x/.env", {"S": "x"}, {"S": hidden}))
    with fake_host(), pytest.raises(ValueError, match="invalid value for A"):
        list(envfile.keys._inner("/x/.env", {}, {"A": "$(reboot)"}))


def test_copied_keys_take_their_line_from_the_source_on_the_host(tmp_path):
    previous = tmp_path / ".env.previous"
    previous.write_text("OPENAI_API_KEY=sk-old|with&sed\\chars='q' \"d\"\nNEW_SECRET=n3w\nFLAG=false\n")
    text = "# keep\nOPENAI_API_KEY=sk-new\nFLAG=true\nOTHER=1"  # no newline at the end
    path = tmp_path / ".env"
    path.write_text(text)
    path.chmod(0o600)
    plan = [envfile.Change("OPENAI_API_KEY", "<hidden a>", "<hidden b>"), envfile.Change("NEW_SECRET", None, "<hidden c>"),
            envfile.Change("FLAG", "true", "false")]
    command = str(envfile.edit_command(str(path), plan, str(previous), copied={"OPENAI_API_KEY", "NEW_SECRET"}))
    assert "sk-old" not in command and "n3w" not in command
    subprocess.run(["sh", "-c", command], check=True)
    assert path.read_text() == ("# keep\nOPENAI_API_KEY=sk-old|with&sed\\chars='q' \"d\"\nFLAG=false\nOTHER=1"
                                "\nNEW_SECRET=n3w\n")
    assert path.stat().st_mode & 0o777 == 0o600 and not list(tmp_path.glob(".env.rollbook.*"))


def test_hiding_sends_digests_for_every_key_not_public(tmp_path):
    env = tmp_path / ".env"
    env.write_text("FLAG=true\nAPI_KEY=s3cret\n# comment\nSAME=s3cret\nexport X=1\n")
    salt = tmp_path / "private" / "salt"
    command = f"{envfile.hiding(str(salt))}; {envfile.hide({'FLAG'}, 'compose')} < {env}; {envfile.hide((), 'compose')} < {env}"
    first = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout.splitlines()
    assert "s3cret" not in "\n".join(first) and first[0] == "FLAG=true" and len(first) == 8
    values = dict(line.split("=", 1) for line in first[:4])
    assert envfile.is_hidden(values["X"])  # export X=1 is read as X=1, as compose reads it
    assert envfile.is_hidden(values["API_KEY"]) and values["API_KEY"] != values["SAME"]  # no tell of a shared secret
    other_file = tmp_path / ".env.previous"
    other_file.write_text("API_KEY='s3cret'\n")
    same_key = subprocess.run(["sh", "-c", f"{envfile.hiding(str(salt))}; {envfile.hide((), 'compose')} < {other_file}"],
                              capture_output=True, text=True, check=True).stdout.splitlines()
    assert same_key == [f"API_KEY={values['API_KEY']}"]  # one key's equal values compare across files
    assert salt.stat().st_mode & 0o777 == 0o600 and salt.parent.stat().st_mode & 0o777 == 0o700
    again = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout.splitlines()
    assert again == first  # the host's salt is kept: digests compare across commands
    other = tmp_path / "other-salt"
    elsewhere = subprocess.run(["sh", "-c", f"{envfile.hiding(str(other))}; {envfile.hide((), 'compose')} < {env}"],
                               capture_output=True, text=True, check=True).stdout.splitlines()
    assert elsewhere[1] != first[5]  # another host (salt): other digests


def test_check_managed_refuses_values_unsafe_for_the_edit():
    for bad in ({"lower": "1"}, {"A": "x|y"}, {"A": "a b"}, {"A": "$(reboot)"}):
        try:
            envfile.check_managed(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")
    envfile.check_managed({"VISION_PHASH_REDIS_PREFIX": "vision:phash"})


def hidden(stdin: bytes, public: str = "", kind: str = "systemd") -> list[str]:
    """``hide PUBLIC KIND`` of ``envfile.hiding`` as the host runs it."""
    import os

    from rollbook.host.envfile import _HIDE

    return subprocess.run(["python3", "-c", _HIDE, public, kind], input=stdin, capture_output=True, check=True,
                          env={**os.environ, "RB_SALT": "00ff"}).stdout.decode().splitlines()


def test_a_file_s_value_compares_with_the_process_s_as_its_loader_reads_it():
    """An env file's values are what its loader gives the process: `K="a b $HOME"` is `a b $HOME`
    under systemd's EnvironmentFile and the process's environ holds the same, so both hide to one
    digest; a CRLF line's value has no CR."""
    file_side = hidden(b'K="a b $HOME"\nL=\'x y\'\nM=v\r\n')
    process_side = hidden(b"K=a b $HOME\0L=x y\0M=v\0", kind="environ")
    assert file_side == process_side and file_side[0].startswith("K=<hidden ")
    assert hidden(b'["K=a b $HOME", "L=x y", "M=v"]', kind="json") == process_side
    assert hidden(b'K="a b"\nE=\nQ=""\n', "K,E,Q") == ["K=a b", "E=", "Q="]


def test_an_export_line_is_what_each_loader_makes_of_it():
    """systemd 252 ignores `export K=v` (the name holds a space); compose's dotenv reads it as K."""
    assert hidden(b"export SENTRY_DSN=x\nA=1\n", "SENTRY_DSN,A") == ["A=1"]
    compose = hidden(b"export SENTRY_DSN=x\nA=1\n", "SENTRY_DSN,A", kind="compose")
    assert compose == ["SENTRY_DSN=x", "A=1"]


def test_a_value_holding_a_line_break_is_shown_by_its_digest():
    lines = hidden(b'MULTI="l1\nl2"\nA=1\n', "MULTI,A")
    assert lines[0].startswith("MULTI=<hidden ") and lines[1:] == ["A=1"]
    assert hidden(b"MULTI=l1\nl2\0A=1\0", "MULTI,A", kind="environ") == lines


SHAPES = (
    "# people write env files in many shapes\r\n"
    "export VISION_A=true\r\n"  # export, CRLF
    'VISION_B="true"\n'  # quoted
    "VISION_B=true\n"  # duplicated: the last wins
    "VISION_C=true"  # no final newline
)


def read(path, keys) -> list[str]:
    return subprocess.run(["sh", "-c", envfile.read_keys(str(path), keys)], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_keys_read_as_the_loader_reads_them_and_edits_keep_the_line_s_shape(tmp_path):
    path = tmp_path / ".env"
    path.write_text(SHAPES)
    keys = ["VISION_A", "VISION_B", "VISION_C"]
    assert sorted(read(path, keys)) == ["VISION_A=true", "VISION_B=true", "VISION_C=true"]
    target = {key: "false" for key in keys}
    plan = envfile.plan_changes(envfile.parse("\n".join(read(path, keys)), keys), target)
    subprocess.run(["sh", "-c", str(envfile.edit_command(str(path), plan))], check=True)
    assert path.read_bytes().decode() == ("# people write env files in many shapes\r\nexport VISION_A=false\r\n"
                                          "VISION_B=false\nVISION_B=false\nVISION_C=false")
    assert sorted(read(path, keys)) == ["VISION_A=false", "VISION_B=false", "VISION_C=false"]
    assert envfile.plan_changes(envfile.parse("\n".join(read(path, keys)), keys), target) == []  # converged


@pytest.mark.parametrize("line", ["VISION_A = true", "  VISION_A=true", "VISION_A=true # on for wave a",
                                  "export  VISION_A=two words"])
def test_a_line_the_edit_does_not_handle_is_named_never_shown(tmp_path, line):
    path = tmp_path / ".env"
    path.write_text(f"VISION_B=true\n{line}\n")
    lines = read(path, ["VISION_A", "VISION_B"])
    assert envfile.misshapen(lines) == ["VISION_A"] and "VISION_B=true" in lines
    assert not any("true" in text for text in lines if "VISION_A" in text)  # only the name
    assert envfile.shape_refusal("/opt/vision/.env", ["VISION_A"]).startswith(
        "/opt/vision/.env: the line of VISION_A has a shape rollbook does not edit")
    assert envfile.shape_refusal("/opt/vision/.env", []) == ""
