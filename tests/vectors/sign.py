#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Signs a contract template the way the contract profile says, with the openssl CLI.

Each --party fills the signatory whose signatoryEntityId is ID (in "signatories",
"signatoryEntities" or "signatureList") with CERT (PEM) as its "certificate" and a
signature made with KEY as its "signature". The key type picks the algorithm:
  SM2      openssl dgst -sm3 -sign KEY -sigopt distid:1234567812345678   (DER)
  P-256    openssl dgst -sha256 -sign KEY                                (DER)
  Ed25519  openssl pkeyutl -sign -rawin -inkey KEY
All parties sign the same bytes: the document with every "certificate" filled in, without
the "signature" members of the signatory lists, as canonical.py writes it.

--drop ID  removes that signatory before signing (a contract one party never signed).
--raw      writes SM2 and ECDSA signatures as 64-byte r||s instead of DER.

This is the independent signer the tests check the C verifier against: it shares no code
with it. Example:
  d=$(mktemp -d) && tests/vectors/mkpki.sh $d &&
  tests/vectors/sign.py examples/contracts/three-party-network.json signed.json \\
      --party 91110000100000000X:$d/91110000100000000X.key:$d/91110000100000000X.crt \\
      --party 91310000MA1K00001B:$d/91310000MA1K00001B.key:$d/91310000MA1K00001B.crt \\
      --party 91440300MA5G00002C:$d/91440300MA5G00002C.key:$d/91440300MA5G00002C.crt
"""
import argparse
import base64
import json
import subprocess
import sys
import tempfile

from canonical import LISTS, canonical, signatories

DISTID = "distid:1234567812345678"
USAGE = "sign.py TEMPLATE OUT --party ID:KEY:CERT [--party ...] [--drop ID] [--raw]"


def key_type(key):
    text = subprocess.run(["openssl", "pkey", "-in", key, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    if text.startswith("ED25519"):
        return "ed25519"
    if "ASN1 OID: SM2" in text:
        return "sm2"
    if "ASN1 OID: prime256v1" in text:
        return "p256"
    sys.exit(f"sign.py: {key}: not an SM2, P-256 or Ed25519 key")


def der_to_raw(der):
    """ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> r||s, 32 bytes each."""
    def length(i):
        n = der[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7f
        return int.from_bytes(der[i + 1:i + 1 + k], "big"), i + 1 + k

    _, i = length(1)
    out = b""
    for _ in range(2):
        n, i = length(i + 1)
        out += int.from_bytes(der[i:i + n], "big").to_bytes(32, "big")
        i += n
    return out


def sign(data, key, raw):
    kind = key_type(key)
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        if kind == "ed25519":
            cmd = ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", f.name]
        elif kind == "sm2":
            cmd = ["openssl", "dgst", "-sm3", "-sign", key, "-sigopt", DISTID, f.name]
        else:
            cmd = ["openssl", "dgst", "-sha256", "-sign", key, f.name]
        sig = subprocess.run(cmd, check=True, capture_output=True).stdout
    if raw and kind != "ed25519":
        sig = der_to_raw(sig)
    return base64.b64encode(sig).decode("ascii")


def main():
    ap = argparse.ArgumentParser(usage=USAGE, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("template")
    ap.add_argument("out")
    ap.add_argument("--party", action="append", default=[], metavar="ID:KEY:CERT")
    ap.add_argument("--drop", action="append", default=[], metavar="ID")
    ap.add_argument("--raw", action="store_true")
    args = ap.parse_args()

    with open(args.template, encoding="utf-8") as f:
        doc = json.load(f)
    for name in LISTS:
        if name in doc:
            doc[name] = [s for s in doc[name] if s.get("signatoryEntityId") not in args.drop]
    by_id = {s.get("signatoryEntityId"): s for s in signatories(doc)}

    # 1. Certificates first: the signatures cover them.
    parties = []
    for p in args.party:
        eid, key, cert = p.split(":", 2)
        if eid not in by_id:
            sys.exit(f"sign.py: no signatory {eid} in {args.template}")
        with open(cert, encoding="ascii") as f:
            by_id[eid]["certificate"] = f.read()
        parties.append((by_id[eid], key))

    # 2. Then every party signs the same canonical bytes.
    data = canonical(doc)
    for s, key in parties:
        s["signature"] = sign(data, key, args.raw)

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
