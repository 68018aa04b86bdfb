r"""S3 buckets, read and written with boto3 from the controller (never from a host): the objects
under a prefix whose keys match a pattern, saved and purged (``objects_purged``), and the objects under
one prefix copied to another bucket/prefix when missing or differing in size or ETag (the voice-v2
runbook's ``mc cp --recursive``). Every error names the endpoint and bucket, never a credential::

    cached = Objects("vision/", re.compile(r"^vision/[^/]+/[0-9a-f]{64}_[^/]+\.json$"), "the vision cache")
    save_and_delete(target, keys_of(target, cached), "rollbook-saved/RUN/", cached.what)  # copies, then deletes
    copy_objects(backup, prod, plan_copy(backup, "2025-08-02/", prod, ""))
"""

import re
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pyinfra import logger
from pyinfra.api import FunctionCommand, operation

from ..core.report import announce

DELETE_BATCH = 1000  # the most S3 deletes in one request


class S3Error(Exception):
    """S3 did not do what was asked; the message names the endpoint and bucket."""


@dataclass(frozen=True)
class S3Target:
    endpoint: str | None  # None: the provider's default endpoint
    bucket: str
    region: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def where(self) -> str:
        return f"s3 bucket {self.bucket} at {self.endpoint or 'the default endpoint'}"


def client_of(target: S3Target):
    """A boto3 client for ``target``: a bounded wait for the endpoint, two attempts."""
    return boto3.client("s3", endpoint_url=target.endpoint, region_name=target.region,
                        aws_access_key_id=target.access_key, aws_secret_access_key=target.secret_key,
                        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}))


def failure(target: S3Target, doing: str, error: Exception) -> S3Error:
    """The S3Error for a failed call: what was being done, the endpoint and bucket (never a key)."""
    reason = error.response["Error"].get("Code", "error") if isinstance(error, ClientError) else type(error).__name__
    return S3Error(f"S3 unreachable or refusing ({reason}) while {doing}: {target.where()}")


@dataclass(frozen=True)
class Objects:
    """Which objects of a bucket: those under ``prefix`` whose key matches ``pattern``; ``what`` names them."""

    prefix: str
    pattern: re.Pattern
    what: str


def counted(listing) -> int | None:
    """How many ``listing()`` returns; None when S3 did not answer (said as a warning, never raised)::

        count = counted(lambda: keys_of(target, CACHE))
    """
    try:
        return len(listing())
    except S3Error as error:
        logger.warning(str(error))
        return None


def _listing(target: S3Target, prefix: str, doing: str) -> dict[str, tuple[int, str]]:
    """Each key under ``prefix`` -> (size, ETag)."""
    try:
        pages = client_of(target).get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=prefix)
        return {item["Key"]: (item["Size"], item["ETag"]) for page in pages for item in page.get("Contents", [])}
    except (BotoCoreError, ClientError) as error:
        raise failure(target, doing, error) from None


def keys_of(target: S3Target, objects: Objects) -> list[str]:
    """Every key of ``objects`` in the bucket."""
    return [key for key in _listing(target, objects.prefix, f"listing {objects.what}") if objects.pattern.match(key)]


def save_and_delete(target: S3Target, keys: list[str], saved_prefix: str, what: str = "the objects") -> int:
    """Copy each key under ``saved_prefix`` (server side), then delete the originals in batches."""
    client = client_of(target)
    try:
        for key in keys:
            client.copy_object(Bucket=target.bucket, Key=saved_prefix + key,
                               CopySource={"Bucket": target.bucket, "Key": key})
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start:start + DELETE_BATCH]]
            answer = client.delete_objects(Bucket=target.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                raise S3Error(f"{len(answer['Errors'])} object(s) not deleted from {target.where()}")
    except (BotoCoreError, ClientError) as error:
        raise failure(target, f"saving and deleting {what}", error) from None
    return len(keys)


def plan_copy(source: S3Target, source_prefix: str, dest: S3Target, dest_prefix: str) -> list[tuple[str, str]]:
    """The (source key, destination key) pairs whose destination is missing or differs."""
    present = _listing(source, source_prefix, f"listing {source_prefix or 'the bucket'} (the copy's source)")
    there = _listing(dest, dest_prefix, f"listing {dest_prefix or 'the bucket'} (the copy's destination)")
    copies = []
    for key, signature in sorted(present.items()):
        if key.endswith("/"):
            continue  # a folder marker
        target_key = dest_prefix + key[len(source_prefix):]
        if there.get(target_key) != signature:
            copies.append((key, target_key))
    return copies


def copy_objects(source: S3Target, dest: S3Target, copies: list[tuple[str, str]]) -> int:
    """Copy each pair: server side on one endpoint, else download and upload."""
    client = client_of(dest)
    same_endpoint = source.endpoint == dest.endpoint and source.access_key == dest.access_key
    reader = client if same_endpoint else client_of(source)
    try:
        for key, target_key in copies:
            if same_endpoint:
                client.copy_object(Bucket=dest.bucket, Key=target_key, CopySource={"Bucket": source.bucket, "Key": key})
            else:
                body = reader.get_object(Bucket=source.bucket, Key=key)["Body"].read()
                client.put_object(Bucket=dest.bucket, Key=target_key, Body=body)
    except (BotoCoreError, ClientError) as error:
        raise failure(dest, f"copying {len(copies)} object(s)", error) from None
    return len(copies)


def _purge(target: S3Target, objects: Objects, saved_prefix: str):
    # what is there now, not what the plan counted: nothing added meanwhile is left behind
    return bool(save_and_delete(target, keys_of(target, objects), saved_prefix, objects.what) >= 0)


@operation()
def objects_purged(target: S3Target, objects: Objects, count: int | None, saved_prefix: str):
    """Save every object of ``objects`` under ``saved_prefix`` (same bucket), then delete it; ``count``: how
    many there are now (None: S3 did not answer). Call it with ``_run_once=True``. Example::

        s3.objects_purged(name="Purge the vision S3 cache", target=target, objects=CACHE, count=len(keys),
                          saved_prefix=f"rollbook-saved/{run_id}/", _run_once=True)
    """
    if count == 0:
        return
    announce([f"S3: save under {saved_prefix} and delete {count if count is not None else 'all the'} "
              f"{objects.what} in {target.where()}"])
    yield FunctionCommand(_purge, (target, objects, saved_prefix), {})
