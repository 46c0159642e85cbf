#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""notice.py CONTRACT OUT --key KEY --cert CERT [--type 01|02]: a /contractTerminate notice.

The Annex B.7 body for the contract in file CONTRACT, signed as docs/agent-api.md says, with
the openssl CLI (sign.py's algorithms): "certificate" is CERT, the issuer is its CN, and
"signature" covers the RFC 8785 form of the notice without "signature". issueTime is now;
with --type 01 (the default) agreedEndTime is now too. The independent signer the tests check
the agent's and the platform's verifier against: it shares no code with them.
"""
import argparse
import json
import subprocess
import time

from sign import sign


def common_name(cert):
    subject = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-subject",
                              "-nameopt", "multiline"], check=True, capture_output=True,
                             text=True).stdout
    return [line.split("=", 1)[1].strip() for line in subject.splitlines()
            if line.strip().startswith("commonName")][0]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("contract")
    ap.add_argument("out")
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--type", default="01", choices=["01", "02"])
    args = ap.parse_args()

    with open(args.contract, encoding="utf-8") as f:
        contract = json.load(f)
    with open(args.cert, encoding="ascii") as f:
        pem = f.read()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    issuer = common_name(args.cert)
    notice = {
        "contractName": contract["contractName"],
        "contractId": contract["contractId"],
        "issueTime": now,
        "erminateType": args.type,
        "activationTime": contract["activationTime"],
        "scheduledEndTime": contract["endTime"],
        "issuerId": issuer,
        "issuerEntityId": issuer,
        "certificate": pem,
    }
    if args.type == "01":
        notice["agreedEndTime"] = now
    data = json.dumps(notice, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    notice["signature"] = sign(data.encode("utf-8"), args.key, False)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(notice, f, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
