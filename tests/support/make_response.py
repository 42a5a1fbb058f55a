#!/usr/bin/env python3
"""A randomuser.me API response (API 1.4 format: {"results":[...],"info":{seed,
results,page,version}}) built from make_users.py records, for fixtures, the
demo sample and the test server: make_response.py N [--seed S] [--page P]
[--pretty]. Page P holds records (P-1)*N .. P*N-1 of the seed, so pages of one
seed never repeat, as with the API."""
import argparse, json, os, random, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_users  # noqa: E402


def response(n, seed="pipekit", page=1, version="1.4"):
    start = (page - 1) * n
    users = [make_users.user(i, random.Random(f"{seed}:{i}")) for i in range(start, start + n)]
    return {"results": users, "info": {"seed": seed, "results": n, "page": page, "version": version}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int)
    ap.add_argument("--seed", default="pipekit")
    ap.add_argument("--page", type=int, default=1)
    ap.add_argument("--pretty", action="store_true", help="indented, as the API's docs show it")
    args = ap.parse_args()
    doc = response(args.count, args.seed, args.page)
    if args.pretty:
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
    else:
        json.dump(doc, sys.stdout, separators=(",", ":"), ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
