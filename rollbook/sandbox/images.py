"""Sandbox images, each tagged by the hash of its recipe and reused while that hash holds.

``base`` is Debian bookworm from ``debootstrap`` (no image registry is reachable)
imported with ``docker import``; every other image is a Dockerfile in
``tests/sandbox/images/<name>/`` built ``FROM`` its parent's tag. A recipe with a
``requirements.txt`` gets its wheels downloaded here first, into ``tests/.wheels/<name>/``
(the package index's TLS is not trusted inside images): its Dockerfile copies them and
installs offline. Example::

    tag = ensure_image(client, "vision_worker")   # 'rollbook/vision_worker:3f2a9c01b7e4'
"""

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from docker.errors import BuildError

from . import SandboxError
from .engine import exists
from .paths import BUILD_CONTEXT, RECIPES, ROOTFS_CACHE, WHEELS

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES_FILE = RECIPES / "base.packages"
IMPORT_CHANGES = ("ENV container=docker", 'CMD ["/sbin/init"]')
STANDINS = BUILD_CONTEXT / "standins"

# image name -> parent image name ("base" is the debootstrap root)
PARENTS = {
    "host": "base",  # systemd + sshd with per-boot host keys, the redis drop-in
    "vision_app": "base",  # the image of the vision compose project's `worker` service
    "analyticbot_app": "base",  # the analyticbot compose project's `api` service
    "vision_worker": "host",
    "analyticbot_api": "host",
    "control": "host",
    "phase17_server": "host",  # the phase17 FastAPI/uvicorn server (runbook 002)
    "voice_v2": "host",  # the voice-v2 service under systemd, its backups and virtualenvs
    "voice_v2_app": "voice_v2",  # voice-v2:latest of the voice-v2 compose project (the v2.0.0 tree)
    "voice_v2_app_stable": "voice_v2_app",  # voice-v2:previous-stable (the v1.9.0 tree)
}


def _hash_files(digest, root: Path):
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")


def recipe_hash(name: str) -> str:
    """The hash naming an image: its recipe's files plus its parent's hash."""
    digest = hashlib.sha256(name.encode())
    if name == "base":
        digest.update("\n".join((SUITE, MIRROR, *IMPORT_CHANGES)).encode())
        digest.update(PACKAGES_FILE.read_bytes())
    else:
        if name not in PARENTS:
            raise SandboxError(f"no image recipe named {name!r} (known: {', '.join(sorted(PARENTS))})")
        digest.update(recipe_hash(PARENTS[name]).encode())
        _hash_files(digest, RECIPES / "images" / name)
        for path in standins_of(name):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def standins_of(name: str) -> list[Path]:
    """The stand-ins a recipe's Dockerfile copies (``COPY standins/<file> ...``), so that changing
    one stand-in rebuilds only the images that bake it in."""
    dockerfile = (RECIPES / "images" / name / "Dockerfile").read_text()
    return sorted(STANDINS / found for found in re.findall(r"^COPY\s+standins/(\S+)", dockerfile, re.MULTILINE))


def image_tag(name: str) -> str:
    return f"rollbook/{name}:{recipe_hash(name)}"


def _packages() -> list[str]:
    lines = PACKAGES_FILE.read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def _build_base(client, tag: str):
    rootfs = ROOTFS_CACHE / f"rootfs-{recipe_hash('base')}"
    tarball = rootfs.with_suffix(".tar")
    debs = ROOTFS_CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(rootfs, ignore_errors=True)
    cmd = ["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
           f"--include={','.join(_packages())}", SUITE, str(rootfs), MIRROR]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        raise SandboxError(f"debootstrap failed: {last[0]}")
    try:
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        repository, version = tag.split(":")
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version,
                                          changes=list(IMPORT_CHANGES))
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
        tarball.unlink(missing_ok=True)


def wheelhouse(name: str, log=print) -> Path | None:
    """The wheels of recipe ``name``'s ``requirements.txt`` (for the images' Python: CPython 3.11 on
    x86_64 Linux), downloaded once per version of that file; None when the recipe has none."""
    requirements = RECIPES / "images" / name / "requirements.txt"
    if not requirements.is_file():
        return None
    folder, digest = WHEELS / name, hashlib.sha256(requirements.read_bytes()).hexdigest()
    marker = folder / ".complete"
    if marker.is_file() and marker.read_text().strip() == digest:
        return folder
    log(f"downloading the wheels of {name}/requirements.txt")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                           "--python-version", "3.11", "--implementation", "cp", "--platform",
                           "manylinux2014_x86_64", "--dest", str(folder), "-r", str(requirements)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if "ERROR" in line][-1:] or ["pip download failed"]
        raise SandboxError(f"downloading the wheels of {name}: {last[0]}")
    marker.write_text(digest + "\n")
    return folder


def _build_child(client, name: str, tag: str, parent_tag: str):
    wheelhouse(name)
    try:
        client.images.build(path=str(BUILD_CONTEXT), dockerfile=f"sandbox/images/{name}/Dockerfile",
                            tag=tag, buildargs={"BASE": parent_tag}, rm=True, forcerm=True)
    except BuildError as error:
        lines = [entry.get("stream", entry.get("error", "")).strip() for entry in error.build_log]
        last = [line for line in lines if line][-1:] or [str(error)]
        raise SandboxError(f"building image {name} failed: {last[0]}") from None


def ensure_image(client, name: str, log=print) -> str:
    """Return the tag of image ``name``, building it (and its parents) only if missing."""
    tag = image_tag(name)
    if exists(client.images.get, tag):
        return tag
    if name == "base":
        log(f"building {tag} with debootstrap (a few minutes, once)")
        _build_base(client, tag)
    else:
        parent_tag = ensure_image(client, PARENTS[name], log)
        log(f"building {tag}")
        _build_child(client, name, tag, parent_tag)
    return tag
