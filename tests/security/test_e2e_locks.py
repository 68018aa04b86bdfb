"""Two controllers taking over one stale lock at once, on a real host: one wins, the other fails
naming the holder."""

import json
import subprocess

from tests.e2e.pyinfra_run import REPO, command, finished

HOST, LOCK = "vision-1", "/var/lib/rollbook/locks/vision.lock"
STALE = {"run_id": "20260101T000000Z-dead00", "operator": "carol", "controller": "gone", "pid": 1,
         "since": "2026-01-01T00:00:00Z", "expires": "2026-01-01T00:30:00Z"}


def test_two_takeovers_of_one_stale_lock_leave_one_winner(sandbox, probes):
    host = probes.ssh(HOST)
    host.run(f"mkdir -p /var/lib/rollbook/locks && printf '%s\\n' '{json.dumps(STALE)}' > {LOCK}")
    cmd = command("inventories/sandbox.py", "deploys/vision_rollback.py", limit="vision_workers",
                  data={"vision_waves": "tokens", "rollbook_takeover": "true"})
    both = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in both]
    runs = [finished(p.returncode, out, err) for p, (out, err) in zip(both, outputs)]
    winners = [run for run in runs if run.returncode == 0]
    losers = [run for run in runs if run.returncode != 0]
    assert len(winners) == 1 and len(losers) == 1, [run.output[-2000:] for run in runs]
    said = losers[0].output
    assert "vision on vision-1" in said and ("taken over first by" in said or "is locked by" in said), said
    assert not host.file(LOCK).exists  # the winner released it
    history = [json.loads(line) for line in host.file("/var/lib/rollbook/history.jsonl").content_string.splitlines()]
    takeovers = [r for r in history if r["event"] == "started" and r.get("took_over_stale_lock_of", {}).get("run_id") == STALE["run_id"]]
    assert len(takeovers) == 1
