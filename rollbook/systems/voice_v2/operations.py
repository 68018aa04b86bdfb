"""voice-v2 operations: restore a code tree or a virtualenv, install requirements, pull an image and swap its
tag, recover voice files in S3. Each yields commands only when the host differs from the target, and keeps
what it replaces as ``<path>.backup.<UTC stamp>`` first (what ``service.Restore`` puts back)."""

from pyinfra.api import FunctionCommand, operation

from ...host import s3
from ...host.command import command, joined, program
from ...host.shell import backup, backup_tree
from ...core.report import announce


@operation()
def tree_restored(path: str, source: str, current: str, target: str, backup_keep: int = 5):
    """
    Replace the tree ``path`` (a code tree, a virtualenv) by a copy of ``source`` when their hashes
    (``current``, ``target``; "missing" when absent) differ: the runbook's ``rm -rf venv_voice_v2_optimized;
    cp -r venv_voice_v2_backup ...``, with a way back. Example::

        voice_v2.tree_restored(name="Restore the code", path=code, source=f"{backup}/app/services/voice_v2",
                               current=state.code.tree, target=state.code.target)
    """
    if current == target:
        return
    announce([f"{path}: replace by {source} (kept as {path}.backup.<stamp>)"])
    yield command("if [ -e {path} ]; then {keep}; fi && cp -a {source} {path}", path=path, source=source,
                  keep=backup_tree(path, backup_keep, move=True))


@operation()
def file_restored(path: str, source: str, current: str, target: str, backup_keep: int = 5):
    """Copy ``source`` over ``path`` when their sha256 (``current``, ``target``; "missing" when absent) differ."""
    if current == target:
        return
    announce([f"{path}: restore from {source}"])
    if current != "missing":
        yield backup(path, backup_keep)
    yield command("cp -p {source} {path}", source=source, path=path)


@operation()
def checked_out_clean(checkout: str, ref: str, commit: str, paths: list[str], clean: bool, keep=(),
                      backup_keep: int = 5):
    """
    Check out ``commit`` (what ``ref`` resolves to) detached and discard local changes and untracked files
    under ``paths``, unless ``clean`` (HEAD is ``commit`` and those paths equal it); ``keep`` are kept first.
    """
    if clean:
        return
    announce([f"{checkout}: check out {ref} ({commit[:12]}), discarding changes under {', '.join(paths)}"])
    for path in keep:
        yield command("if [ -e {path} ]; then {keep}; fi", path=path, keep=backup_tree(path, backup_keep))
    pathspecs = joined((command("{path}", path=path) for path in paths), " ")
    yield command("git -C {checkout} checkout -q -f --detach {commit} && "
                  "git -C {checkout} checkout -q -f {commit} -- {pathspecs} && "
                  "git -C {checkout} clean -fdq -- {pathspecs}", checkout=checkout, commit=commit, pathspecs=pathspecs)


@operation()
def requirements_installed(venv: str, requirements: str, installed: str, target: str, pip_args: str = "",
                           backup_keep: int = 5):
    """
    ``pip install -r requirements`` into ``venv`` (kept first: pip changes it in place) when its stamp, the
    sha256 of the requirements it was installed from (``installed``), is not ``target``.
    """
    if installed == target:
        return
    announce([f"{venv}: pip install -r {requirements} (kept as {venv}.backup.<stamp>)"])
    yield command("if [ -e {venv} ]; then {keep}; fi", venv=venv, keep=backup_tree(venv, backup_keep))
    # pip_args: options the settings schema allows (no quote, $, ;, |, &, <, >): shell words as written
    yield command("{pip} install -q --disable-pip-version-check {pip_args} -r {requirements} && "
                  "sha256sum < {requirements} | cut -d' ' -f1 > {stamp}", pip=f"{venv}/bin/pip",
                  pip_args=program(pip_args), requirements=requirements, stamp=f"{venv}/rollbook-requirements.sha256")


@operation()
def image_pulled(image: str, tag: str, registry: str, present: bool):
    """
    Pull ``<registry>/<image>:<tag>`` and tag it ``<image>:<tag>`` when the host has no ``<image>:<tag>``
    (the runbook's ``docker pull your-registry/voice-v2:previous-stable``).
    """
    if present:
        return
    remote = f"{registry}/{image}:{tag}"
    announce([f"pull {remote} (the host has no {image}:{tag})"])
    yield command("docker pull -q {remote} >/dev/null && docker tag {remote} {local}", remote=remote, local=f"{image}:{tag}")


@operation()
def image_tag_set(compose_file: str, image: str, current: str, tag: str, backup_keep: int = 5):
    """Make ``compose_file`` name ``<image>:<tag>`` where it names ``<image>:<current>``."""
    if current == tag:
        return
    announce([f"{compose_file}: {image}:{current} -> {image}:{tag}"])
    yield backup(compose_file, backup_keep)
    pattern = image.replace(".", "\\.")
    yield command("sed -i -E {script} {compose_file}", script=f"s#(image: *[\"']?){pattern}:[^\"' ]+#\\1{image}:{tag}#",
                  compose_file=compose_file)


def _recover(source: s3.S3Target, source_prefix: str, dest: s3.S3Target, dest_prefix: str):
    # what differs now, not what the plan counted
    return s3.copy_objects(source, dest, s3.plan_copy(source, source_prefix, dest, dest_prefix)) >= 0


@operation()
def files_recovered(source: s3.S3Target, source_prefix: str, dest: s3.S3Target, dest_prefix: str,
                    count: int | None):
    """
    Copy the objects under ``source_prefix`` of the backup bucket to ``dest_prefix`` of the production bucket,
    the ``count`` missing or differing ones (None: S3 did not answer); ``_run_once=True``: the hosts share them.
    """
    if count == 0:
        return
    announce([f"S3: copy {count if count is not None else 'the'} missing or differing object(s) from "
              f"{source.bucket}/{source_prefix} to {dest.bucket}/{dest_prefix}"])
    yield FunctionCommand(_recover, (source, source_prefix, dest, dest_prefix), {})
