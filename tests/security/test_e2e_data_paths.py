"""A 1,000,000-entry low-priority stream trimmed by a vision wave C rollback on a real host: every
deleted entry saved first, memory bounded by the batch in Redis (its largest client output buffer and
its used memory, sampled throughout) and on the controller (the pyinfra process's peak RSS)."""

import resource
import threading
import time

from tests.e2e.pyinfra_run import pyinfra

HOST, STREAM, ENTRIES = "vision-1", "stream:posts:vision:low", 1_000_000
SAVED = "/var/lib/rollbook/saved/vision"


def _fill(client, count: int) -> tuple[str, str]:
    pipe, first = client.pipeline(transaction=False), None
    for n in range(count):
        pipe.xadd(STREAM, {"n": n})
        if n % 20000 == 19999 or n == count - 1:
            ids = pipe.execute()
            first = first or ids[0]
    return first, ids[-1]


def test_a_million_entry_stream_is_saved_and_deleted_in_bounded_batches(sandbox, probes):
    enabled = pyinfra("inventories/sandbox.py", "deploys/vision_enable.py", limit="vision_workers")
    assert enabled.returncode == 0, enabled.output
    client, host = probes.redis(HOST), probes.ssh(HOST)
    first, last = _fill(client, ENTRIES)
    length = client.xlen(STREAM)
    assert length >= ENTRIES
    host.run(f"mkdir -p {SAVED} && ls -1 {SAVED} > /tmp/rollbook-saved.before")
    baseline = int(client.info("memory")["used_memory"])

    peaks = {"used_memory": 0, "output_buffer": 0}
    done = threading.Event()

    def sample():
        watcher = probes.redis(HOST)
        while not done.is_set():
            peaks["used_memory"] = max(peaks["used_memory"], int(watcher.info("memory")["used_memory"]))
            peaks["output_buffer"] = max(peaks["output_buffer"],
                                         int(watcher.info("clients")["client_recent_max_output_buffer"]))
            time.sleep(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    watcher.start()
    try:
        run = pyinfra("inventories/sandbox.py", "deploys/vision_rollback.py", data={"vision_waves": "c"},
                      limit="vision_workers", timeout=1500)
    finally:
        done.set()
        watcher.join()
    controller_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert run.returncode == 0, run.output[-3000:]
    assert client.xlen(STREAM) == 0

    new = host.check_output(f"cd {SAVED} && ls -1 | grep -vxF -f /tmp/rollbook-saved.before || true").split()
    assert len(new) == 1, new
    saved = f"{SAVED}/{new[0]}"
    lines = int(host.check_output(f"wc -l < {saved}"))
    unique = int(host.check_output(f"cut -d' ' -f1 {saved} | sort -u | wc -l"))
    assert lines >= length and unique == lines  # every entry saved once (the worker's own ones too)
    for filled in (first, last):  # the first and last of the million, each saved exactly once
        assert host.check_output(f"grep -c '^{filled} ' {saved}") == "1"
    assert host.check_output(f"stat -c %a {saved}") == "600"

    # bounded: Redis never built a reply of the whole stream, nor grew past the data it held
    assert peaks["output_buffer"] < 8 * 1024 * 1024, peaks
    assert peaks["used_memory"] < baseline + 32 * 1024 * 1024, (peaks, baseline)
    assert controller_kib < 400 * 1024 or controller_kib == before, controller_kib
    print(f"1M-entry trim: Redis used_memory {baseline / 2**20:.0f} MiB before, peak "
          f"{peaks['used_memory'] / 2**20:.0f} MiB, largest client output buffer "
          f"{peaks['output_buffer'] / 2**10:.0f} KiB; controller peak RSS {controller_kib / 1024:.0f} MiB")
