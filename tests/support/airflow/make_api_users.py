#!/usr/bin/env python3
"""make_api_users.py N SEED RESPONSE DEFECTS [EVERY]: a randomuser API
response of N users (tests/support/make_response.py, seed SEED) for
ru_server.py's /file=, one user in EVERY (default 20; 1: all) made defective,
in turn: bad email, bad gender, bad date of birth; and DEFECTS: login.uuid
<TAB> kind, one line per defective user."""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import make_response  # noqa: E402

SPOIL = [
    ("bad_email", lambda u: u.__setitem__("email", "not-an-email")),
    ("bad_gender", lambda u: u.__setitem__("gender", "robot")),
    ("bad_date", lambda u: u["dob"].__setitem__("date", "yesterday")),
]


def main():
    n, seed, response, defects = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    every = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    doc = make_response.response(n, seed)
    with open(defects, "w") as out:
        for i, u in enumerate(doc["results"]):
            if i % every == 7 % every:
                kind, spoil = SPOIL[(i // every) % len(SPOIL)]
                spoil(u)
                out.write(f"{u['login']['uuid']}\t{kind}\n")
    with open(response, "w") as f:
        json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
