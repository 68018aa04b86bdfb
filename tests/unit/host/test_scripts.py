"""The host scripts, run here as the hosts run them (the stream-entry reader with awk; the run's record
in test_run_record.py)."""

import subprocess

from rollbook.host.scripts import source


XRANGE = '''1) 1) "1-0"
   2) 1) "post_id"
      2) "p 1"
2) 1) "2-0"
   2) 1) "post_id"
      2) "say \\\\"hi\\\\""
'''


def test_the_stream_entry_reader_prints_one_line_per_entry_and_the_ids(tmp_path):
    ids = tmp_path / "ids"
    done = subprocess.run(["awk", "-v", f"ids={ids}", source("stream_entries.awk")], input=XRANGE,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['1-0 "post_id" "p 1"', '2-0 "post_id" "say \\\\"hi\\\\""']
    assert ids.read_text().split() == ["1-0", "2-0"]


def test_anything_but_entries_exits_2(tmp_path):
    done = subprocess.run(["awk", "-v", f"ids={tmp_path / 'ids'}", source("stream_entries.awk")],
                          input="(error) WRONGTYPE Operation against a key\n", capture_output=True, text=True)
    assert done.returncode == 2
