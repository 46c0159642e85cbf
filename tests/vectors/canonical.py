#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""canonical.py FILE: writes the bytes the parties of contract FILE sign to stdout.

The document without the "signature" members of its signatory lists, as
json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False): RFC 8785 (JCS) for
documents without fractions or exponents in numbers and without member names outside the Basic
Multilingual Plane (Python sorts by code point, JCS by UTF-16 unit). The contracts have neither.
"""
import json
import sys

LISTS = ("signatories", "signatoryEntities", "signatureList")


def signatories(doc):
    for name in LISTS:
        yield from doc.get(name, [])


def canonical(doc):
    unsigned = json.loads(json.dumps(doc))
    for s in signatories(unsigned):
        s.pop("signature", None)
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        sys.stdout.buffer.write(canonical(json.load(f)))
