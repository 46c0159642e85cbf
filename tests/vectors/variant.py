#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""variant.py TEMPLATE OUT [--serial N] [--set PATH=JSON]...: a contract template changed.

--serial N   gives the contract a new id: the 8-character random part becomes N (zero
             padded) and the ISO/IEC 7064 MOD 37,36 check character is computed again.
--set P=V    sets the member at path P (a.b[0].c) to the JSON value V.

Tests use it to make contracts that differ from the templates in one term, then sign them
with sign.py.
"""
import argparse
import json
import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def check_char(s):
    p = 36
    for ch in s:
        total = (p + ALPHABET.index(ch)) % 36
        p = (2 * (total or 36)) % 37
    return ALPHABET[(37 - p) % 36]


def set_path(doc, path, value):
    keys = [k for part in path.split(".") for k in re.findall(r"[^\[\]]+|\[\d+\]", part)]
    node = doc
    for key in keys[:-1]:
        node = node[int(key[1:-1])] if key.startswith("[") else node[key]
    last = keys[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("template")
    ap.add_argument("out")
    ap.add_argument("--serial", type=int)
    ap.add_argument("--set", action="append", default=[], metavar="PATH=JSON")
    args = ap.parse_args()
    with open(args.template, encoding="utf-8") as f:
        doc = json.load(f)
    if args.serial is not None:
        head = doc["contractId"][:38] + "%08d" % args.serial
        doc["contractId"] = head + check_char(head)
    for assignment in args.set:
        path, value = assignment.split("=", 1)
        set_path(doc, path, json.loads(value))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
