"""The sections facts read: a file printed whole, whatever its last line."""

import subprocess

from rollbook.host.sections import recorded_section


def test_the_recorded_section_ends_a_state_file_without_a_final_newline(tmp_path):
    """A hand-written state.json without its final newline must not swallow the next section's header."""
    for content, lines in (('{"a": 1}', ['{"a": 1}']), ('{"a": 1}\n', ['{"a": 1}']), ("", [])):
        (tmp_path / "state.json").write_text(content)
        shown = subprocess.run(["sh", "-c", f"{recorded_section(str(tmp_path / 'state.json'))}; echo '## next'"],
                               capture_output=True, text=True).stdout
        assert shown.splitlines() == ["## recorded", *lines, "## next"]
