"""The physical floor: one SSH session per host, in parallel, applying the full vision rollback's
end state with a single shell script (flags, experiments, worker recreate, trim, delete keys).

    wall_seconds = apply(state.hosts)      # one command per host
"""

import time
from concurrent.futures import ThreadPoolExecutor

import paramiko

from rollbook.sandbox.state import known_hosts_path, root_key_path
from rollbook.systems.vision import CONTROL
from rollbook.core.templates import render

FLAGS_OFF = ("VISION_PREPROCESS_ENABLED", "VISION_PREPROCESS_GRAYSCALE", "VISION_LOCAL_OCR_PRIMARY_ENABLED",
             "VISION_PHASH_ENABLED", "VISION_ROI_CROP_ENABLED", "VISION_LOW_PRIORITY_QUEUE_ENABLED",
             "VISION_TOKENS_COUNT_ENABLED")


def script() -> str:
    edits = " ".join(f"-e 's/^{key}=.*/{key}=false/'" for key in FLAGS_OFF)
    experiments = render("vision_experiments.yml.j2",
                         experiments={name: dict(CONTROL) for name in ("wave_a", "wave_b", "wave_c")})
    return "\n".join([
        "set -e",
        f"sed -i {edits} /opt/vision/.env",
        "cat > /opt/vision/config/vision_experiments.yml <<'ROLLBOOK_EOF'",
        experiments.rstrip("\n"),
        "ROLLBOOK_EOF",
        "cd /opt/vision && docker-compose up -d --force-recreate --no-deps worker >/dev/null 2>&1",
        "redis-cli XTRIM stream:posts:vision:low MAXLEN 0 >/dev/null",
        "redis-cli --scan --pattern 'vision:phash:*' | xargs -r -n 500 redis-cli UNLINK >/dev/null",
    ])


def _one(host, text: str):
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts_path()))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect("127.0.0.1", port=host.port("ssh"), username="root", key_filename=str(root_key_path()),
                   look_for_keys=False, allow_agent=False)
    try:
        _, stdout, stderr = client.exec_command(text)
        if stdout.channel.recv_exit_status() != 0:
            raise RuntimeError(f"floor script failed on {host.name}: {stderr.read().decode().strip()}")
    finally:
        client.close()


def apply(hosts) -> float:
    """Apply the end state on every host at once; the wall time in seconds."""
    text = script()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(lambda host: _one(host, text), hosts))
    return time.monotonic() - started
