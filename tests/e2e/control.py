"""The control host as its team sets it up, and its drift timer as an operator reads it::

    install(probes, "inventories/sandbox_prod.py")   # deploys/drift_timer.py, then the sandbox's key and state
    tick = timer_check(probes)                       # systemctl start rollbook-drift@0.service, then its outputs
    tick.status, tick.report["drift"], tick.textfile
    exported(tick.textfile)["rollbook_drift_check_success"]   # its samples, the shard="0/1" label left out
"""

import io
import json
import tarfile
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from rollbook.core import metrics

from .pyinfra_run import pyinfra

CONTROL = "control-1"
SANDBOX_DIR = "/etc/rollbook-drift/sandbox"  # rollbook_control_environment's ROLLBOOK_SANDBOX_DIR
# rollbook_drift_shards is 1 here: one shard, 0/1, whose instance writes the shard's report and textfile
SHARDS = 1
REPORT = "/var/lib/rollbook-drift/drift.shard{index}.json"
TEXTFILE = "/var/lib/rollbook-drift/textfile/rollbook.shard{index}.prom"
SERVICE = "rollbook-drift@{index}.service"


def place(probes, name: str, files: dict[str, bytes], folder: str, owner: str):
    """Put files on a host as its team would (root, through the engine), owned by ``owner``, mode 0600."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for filename, content in files.items():
            info = tarfile.TarInfo(filename)
            info.size, info.mode = len(content), 0o600
            tar.addfile(info, io.BytesIO(content))
    container = probes.docker.containers.get(probes.state.host(name).container)
    container.exec_run(["install", "-d", "-m", "700", "-o", owner, "-g", owner, folder])
    container.put_archive(folder, buffer.getvalue())
    container.exec_run(["chown", "-R", f"{owner}:{owner}", folder])


def install(probes, inventory: str, approval=lambda: None):
    """deploys/drift_timer.py on the control host through ``inventory`` (run twice: the second changes
    nothing), then the SSH key, known_hosts, state and secrets its check connects with. ``approval``
    gives each run's approval file in prod."""
    from rollbook.sandbox.state import known_hosts_path, root_key_path, secrets_path, ssh_key_path, state_path

    def approved() -> dict:
        path = approval()
        return {"approval": path} if path else {}

    run = pyinfra(inventory, "deploys/drift_timer.py", data=approved(), limit="control", timeout=900)
    assert run.returncode == 0, run.output
    again = pyinfra(inventory, "deploys/drift_timer.py", data=approved(), limit="control")
    assert again.returncode == 0 and again.changed == set(), again.changed
    place(probes, CONTROL, {"state.json": state_path().read_bytes(), "id_ed25519": ssh_key_path().read_bytes(),
                            "root_ed25519": root_key_path().read_bytes(),
                            "known_hosts": known_hosts_path().read_bytes(),
                            "secrets.env": secrets_path().read_bytes()}, SANDBOX_DIR, "rollbook-drift")


@dataclass
class Tick:
    status: int  # the service's exit status (0 converged, 2 drift, 1 error)
    result: str  # systemd's Result
    user: str
    journal: str
    report: dict  # the JSON report it wrote
    textfile: str  # the node_exporter textfile it wrote


def timer_check(probes, index: int = 0) -> Tick:
    """Run shard ``index``'s service now (what its timer's next tick runs) and read what it left."""
    control = probes.ssh(CONTROL)
    service = SERVICE.format(index=index)
    # a tick the timer started on its own would be joined, not run again: wait for it to end first
    control.run(f"timeout 600 sh -c 'while systemctl is-active -q {service} || "
                f"[ \"$(systemctl show -p ActiveState --value {service})\" = activating ]; do sleep 1; done'")
    control.run(f"systemctl reset-failed {service}")
    control.run(f"systemctl start {service}")  # returns when the oneshot service has ended
    shown = dict(line.partition("=")[::2] for line in control.check_output(
        f"systemctl show -p Result -p ExecMainStatus -p User {service}").splitlines())
    journal = control.run(f"journalctl -u {service} --no-pager -n 40").stdout
    return Tick(status=int(shown.get("ExecMainStatus") or -1), result=shown.get("Result", ""),
                user=shown.get("User", ""), journal=journal,
                report=json.loads(control.file(REPORT.format(index=index)).content_string),
                textfile=control.file(TEXTFILE.format(index=index)).content_string)


def exported(textfile: str, shard: str = f"0/{SHARDS}") -> dict[str, float]:
    """A shard's textfile as ``metrics.parse`` keys it, every sample's ``shard`` label checked and left out."""
    samples = {}
    for family in text_string_to_metric_families(textfile):
        for sample in family.samples:
            labels = dict(sample.labels)
            assert labels.pop("shard", None) == shard, sample
            samples[metrics.key(sample.name, labels)] = float(sample.value)
    return samples
