"""Copy the objects under one S3 prefix to another bucket/prefix: only the missing or differing ones.

The voice-file recovery of the voice-v2 runbook (``mc cp --recursive backup/... prod/...``), with
boto3 from the controller. An object differs when its size or ETag differs (both buckets written
by plain PUT/COPY, so the ETag is the content's MD5). Example::

    copies = plan_copy(backup, "2025-08-02/", prod, "")   # [(source key, destination key), ...]
    copy_objects(backup, prod, copies)                     # server side when on the same endpoint
"""

from botocore.exceptions import BotoCoreError, ClientError

from .s3 import S3Error, S3Target, client_of, failure


def _listing(target: S3Target, prefix: str) -> dict[str, tuple[int, str]]:
    pages = client_of(target).get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=prefix)
    return {item["Key"]: (item["Size"], item["ETag"]) for page in pages for item in page.get("Contents", [])}


def plan_copy(source: S3Target, source_prefix: str, dest: S3Target, dest_prefix: str) -> list[tuple[str, str]]:
    """The (source key, destination key) pairs whose destination is missing or differs."""
    try:
        present = _listing(source, source_prefix)
    except (BotoCoreError, ClientError) as error:
        raise failure(source, "listing the voice-file backup", error) from None
    try:
        there = _listing(dest, dest_prefix)
    except (BotoCoreError, ClientError) as error:
        raise failure(dest, "listing the voice files", error) from None
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
        raise failure(dest, "copying the voice files", error) from None
    return len(copies)


__all__ = ["S3Error", "S3Target", "plan_copy", "copy_objects"]
