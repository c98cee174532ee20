#!/usr/bin/python3
"""Signs requests with botocore (Debian python3-botocore) for storage_s3_sigv4_test.

Usage: botocore_sign.py <input.json>   (prints a JSON list, one result per request)

Input: {"credentials": {"access_key_id", "secret_access_key", "session_token"},
        "region", "time": "20130524T000000Z",
        "requests": [
          {"kind": "header", "method", "url" (encoded path, no query), "params": [[k, v]],
           "headers": [[k, v]], "body", "unsigned": bool},
          {"kind": "presign", "method", "url", "params", "headers", "expires"},
          {"kind": "client_presign", "endpoint_url", "bucket", "key", "expires",
           "path_style": bool}]}
Output: header → {"authorization", "headers": {lower-case name: value}};
        presign and client_presign → {"url"}.
"""

import os

# With awscrt installed (Debian's awscli pulls it in), botocore signs through the CRT, which reads
# the real clock: use botocore's own Python signers, whose clock is frozen below. Decided when
# botocore is imported.
os.environ["BOTO_DISABLE_CRT"] = "true"

import datetime
import json
import sys
import types

import botocore.auth
import botocore.config
import botocore.credentials
import botocore.session
from botocore.awsrequest import AWSRequest


def freeze_time(stamp):
    fixed = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")

    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

        @classmethod
        def now(cls, tz=None):
            return fixed if tz is None else fixed.replace(tzinfo=tz)

    module = types.SimpleNamespace(
        **{k: getattr(datetime, k) for k in dir(datetime) if not k.startswith("__")})
    module.datetime = Fixed
    botocore.auth.datetime = module


def make_request(r):
    req = AWSRequest(method=r["method"], url=r["url"], data=r.get("body", "").encode())
    for k, v in r.get("headers", []):
        req.headers[k] = v
    req.params = [tuple(p) for p in r.get("params", [])]
    return req


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    freeze_time(spec["time"])

    c = spec["credentials"]
    creds = botocore.credentials.Credentials(
        c["access_key_id"], c["secret_access_key"], c.get("session_token") or None)
    out = []
    for r in spec["requests"]:
        if r["kind"] == "header":
            req = make_request(r)
            if r.get("unsigned"):
                req.context["client_config"] = botocore.config.Config(
                    s3={"payload_signing_enabled": False})
            botocore.auth.S3SigV4Auth(creds, "s3", spec["region"]).add_auth(req)
            out.append({"authorization": req.headers["Authorization"],
                        "headers": {k.lower(): v for k, v in req.headers.items()}})
        elif r["kind"] == "presign":
            req = make_request(r)
            botocore.auth.S3SigV4QueryAuth(creds, "s3", spec["region"],
                                           expires=r["expires"]).add_auth(req)
            out.append({"url": req.url})
        else:
            session = botocore.session.get_session()
            client = session.create_client(
                "s3", region_name=spec["region"], endpoint_url=r["endpoint_url"],
                aws_access_key_id=c["access_key_id"],
                aws_secret_access_key=c["secret_access_key"],
                aws_session_token=c.get("session_token") or None,
                config=botocore.config.Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path" if r["path_style"] else "virtual"}))
            url = client.generate_presigned_url(
                "get_object", Params={"Bucket": r["bucket"], "Key": r["key"]},
                ExpiresIn=r["expires"])
            out.append({"url": url})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
