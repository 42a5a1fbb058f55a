#!/usr/bin/env python3
"""make_dataset.py N DIR [--defects 0.05] [--seed S]: the pipeline tests' input.
N flat randomuser records (tests/support/make_users.py), a fraction of them
made defective in six ways, in turn: malformed JSON, missing fields, bad
email, bad dates, wrong types, bad gender. Writes
  DIR/input.ndjson    every line, in order (what is ingested)
  DIR/valid.ndjson    the records that must end up in the table
  DIR/defects.tsv     id <TAB> kind, for every defective record
Defective records keep their id (a uuid) somewhere in the line, so a reject
can be traced back to it even when it is not JSON."""
import argparse, json, os, random, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import make_users  # noqa: E402

KINDS = ["malformed_json", "missing_fields", "bad_email", "bad_date", "wrong_type", "bad_gender"]


def spoil(rec, kind, rng):
    r = dict(rec)
    if kind == "malformed_json":
        text = json.dumps(r, separators=(",", ":"))
        return text[: rng.randint(len(r["id"]) + 10, len(text) - 2)]  # truncated, keeps the id
    if kind == "missing_fields":
        for f in rng.sample(["email", "dob", "last_name", "nat"], 2):
            del r[f]
    elif kind == "bad_email":
        r["email"] = rng.choice(["not-an-email", "a@b", "two@@example.com", "spaces in@example.com"])
    elif kind == "bad_date":
        field = rng.choice(["dob", "registered_date"])
        r[field] = rng.choice(["1990-13-45T10:00:00.000Z", "yesterday", "2001-02-30", "1985-06-01 25:61:00"])
    elif kind == "wrong_type":
        field = rng.choice(["first_name", "post_code", "phone", "nat"])
        r[field] = rng.choice([42, None, ["x"], {"v": 1}, True])
    elif kind == "bad_gender":
        r["gender"] = rng.choice(["robot", "", "MALE", "unknown"])
    return json.dumps(r, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int)
    ap.add_argument("dir")
    ap.add_argument("--defects", type=float, default=0.05)
    ap.add_argument("--seed", default="pipeline")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.dir, exist_ok=True)
    every = max(1, round(1 / args.defects)) if args.defects > 0 else 0
    n_bad = 0
    with open(os.path.join(args.dir, "input.ndjson"), "w") as inp, \
         open(os.path.join(args.dir, "valid.ndjson"), "w") as valid, \
         open(os.path.join(args.dir, "defects.tsv"), "w") as bad:
        for i in range(args.count):
            rec = make_users.flat(make_users.user(i, random.Random(f"{args.seed}:{i}")))
            if every and i % every == every - 1:
                kind = KINDS[n_bad % len(KINDS)]
                n_bad += 1
                inp.write(spoil(rec, kind, rng) + "\n")
                bad.write(f"{rec['id']}\t{kind}\n")
            else:
                line = json.dumps(rec, separators=(",", ":"))
                inp.write(line + "\n")
                valid.write(line + "\n")


if __name__ == "__main__":
    main()
