"""The vision S3 result cache (``vision/{tenant}/{sha256}_{model}.json``), read and purged with boto3
from the controller. Every error names the endpoint and bucket, never a credential::

    target = S3Target(endpoint="https://s3.example", bucket="vision", region="ru-central1",
                      access_key=..., secret_key=...)
    keys = cache_keys(target)
    save_and_delete(target, keys, saved_prefix="rollbook-saved/RUN/")   # copies first, then deletes
"""

import re
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

CACHE_KEY = re.compile(r"^vision/[^/]+/[0-9a-f]{64}_[^/]+\.json$")
PREFIX = "vision/"
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


def cache_keys(target: S3Target) -> list[str]:
    """Every cached vision result in the bucket."""
    try:
        pages = client_of(target).get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=PREFIX)
        return [item["Key"] for page in pages for item in page.get("Contents", []) if CACHE_KEY.match(item["Key"])]
    except (BotoCoreError, ClientError) as error:
        raise failure(target, "listing the vision cache", error) from None


def save_and_delete(target: S3Target, keys: list[str], saved_prefix: str) -> int:
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
        raise failure(target, "saving and deleting the vision cache", error) from None
    return len(keys)
