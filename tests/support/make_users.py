#!/usr/bin/env python3
"""Deterministic randomuser.me-shaped records (API 1.4 `results[]` objects,
about 1 KB each) for tests and benchmarks: make_users.py N [--shape raw|flat]
[--seed S] [--start K]. Record i always has the same content for a seed."""
import argparse, hashlib, json, random, sys, uuid

FIRST = ["Louane", "Jesus", "Mia", "Noah", "Aylin", "Oskar", "Zoe", "Kenan", "Ida", "Mehmet", "Ella", "Liam"]
LAST = ["Vidal", "Nieto", "Schmidt", "Aydin", "Hansen", "Martin", "Silva", "Novak", "Ramos", "Berg"]
CITY = [("Avignon", "Vaucluse", "France", "FR"), ("Madrid", "Castilla", "Spain", "ES"),
        ("Hamburg", "Hamburg", "Germany", "DE"), ("Bergen", "Vestland", "Norway", "NO"),
        ("Leeds", "West Yorkshire", "United Kingdom", "GB"), ("Toronto", "Ontario", "Canada", "CA")]
STREET = ["Rue de la Paix", "Calle Mayor", "Hauptstrasse", "Storgata", "High Street", "King Street"]


def user(i, rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, state, country, nat = rng.choice(CITY)
    gender = rng.choice(["male", "female"])
    uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    username = f"{rng.choice(['happy', 'blue', 'silver', 'tiny', 'brave'])}{rng.choice(['cat', 'fox', 'owl', 'bear'])}{i}"
    password = rng.choice(["qwerty", "dragon", "sunshine", "letmein"]) + str(i % 97)
    salt = "%08x" % rng.getrandbits(32)
    dob_year = rng.randint(1945, 2004)
    reg_year = rng.randint(2002, 2022)
    postcode = rng.randint(10000, 99999) if rng.random() < 0.6 else f"{rng.choice('ABCDEFGH')}{rng.randint(1, 9)}{rng.choice('KLMNP')} {rng.randint(1, 9)}{rng.choice('RSTUV')}{rng.choice('WXYZ')}"
    pic = rng.randint(1, 99)
    kind = "men" if gender == "male" else "women"
    return {
        "gender": gender,
        "name": {"title": "Mr" if gender == "male" else "Ms", "first": first, "last": last},
        "location": {
            "street": {"number": rng.randint(1, 9999), "name": rng.choice(STREET)},
            "city": city, "state": state, "country": country, "postcode": postcode,
            "coordinates": {"latitude": f"{rng.uniform(-90, 90):.4f}", "longitude": f"{rng.uniform(-180, 180):.4f}"},
            "timezone": {"offset": "+1:00", "description": "Brussels, Copenhagen, Madrid, Paris"},
        },
        "email": f"{first.lower()}.{last.lower()}.{i}@example.com",
        "login": {
            "uuid": uid, "username": username, "password": password, "salt": salt,
            "md5": hashlib.md5((password + salt).encode()).hexdigest(),
            "sha1": hashlib.sha1((password + salt).encode()).hexdigest(),
            "sha256": hashlib.sha256((password + salt).encode()).hexdigest(),
        },
        "dob": {"date": f"{dob_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z", "age": 2024 - dob_year},
        "registered": {"date": f"{reg_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z", "age": 2024 - reg_year},
        "phone": f"0{rng.randint(1, 9)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        "cell": f"06-{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        "id": {"name": "INSEE", "value": f"{rng.randint(1, 2)}NNaN{rng.randint(10000000, 99999999)} {rng.randint(10, 99)}"} if rng.random() < 0.8 else {"name": "", "value": None},
        "picture": {"large": f"https://randomuser.me/api/portraits/{kind}/{pic}.jpg",
                    "medium": f"https://randomuser.me/api/portraits/med/{kind}/{pic}.jpg",
                    "thumbnail": f"https://randomuser.me/api/portraits/thumb/{kind}/{pic}.jpg"},
        "nat": nat,
    }


def flat(u):
    loc = u["location"]
    return {
        "id": u["login"]["uuid"], "first_name": u["name"]["first"], "last_name": u["name"]["last"],
        "gender": u["gender"],
        "address": f"{loc['street']['number']} {loc['street']['name']}, {loc['city']}, {loc['state']}, {loc['country']}",
        "post_code": str(loc["postcode"]), "email": u["email"], "username": u["login"]["username"],
        "dob": u["dob"]["date"], "registered_date": u["registered"]["date"], "phone": u["phone"],
        "picture": u["picture"]["medium"], "nat": u["nat"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int)
    ap.add_argument("--shape", choices=["raw", "flat"], default="raw")
    ap.add_argument("--seed", default="pipekit")
    ap.add_argument("--start", type=int, default=0)
    args = ap.parse_args()
    out = sys.stdout
    for i in range(args.start, args.start + args.count):
        rng = random.Random(f"{args.seed}:{i}")
        u = user(i, rng)
        out.write(json.dumps(flat(u) if args.shape == "flat" else u, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
