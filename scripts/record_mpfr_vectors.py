"""Record what gmpy2 says about number tokens, to pin infill/grading/multilang/mpfr.py to it.

ExecEval compares output tokens with ``gmpy2.mpfr(token, 129)`` and ``abs(a - b) > mpfr(1e-12, 129)``. Run with
gmpy2 2.1.5 importable (not a project dependency; e.g. ``pip install --target /tmp/g gmpy2==2.1.5`` then
``PYTHONPATH=/tmp/g``):

    python scripts/record_mpfr_vectors.py [--check N] [--out tests/data/multilang/mpfr_vectors.json.gz]

writes the vectors (curated and seeded random tokens and pairs) and, with ``--check N``, also compares the
emulation with gmpy2 on N further random tokens and pairs and prints every disagreement (nothing is written then).
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

import gmpy2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from infill.grading.multilang import mpfr  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "multilang" / "mpfr_vectors.json.gz"
CURATED = [
    "1", "-1", "+1", "1.", "1.5", ".5", "-.5", "1e5", "1E5", "1e+5", "1e-5", "1@5", "0x10", "0b101", "0o7",
    "1_000", "inf", "Inf", "-inf", "infinity", "nan", "NaN", "nan(123)", "@nan@", "@inf@", "1e", "e5", "1e5.5",
    "1,5", "0x1p3", "00012", "1.0e10", "1d5", "0X1A", "1.2.3", "--1", "+-1", "yes", "YES", "No", "true", "1e999999999999",
    "1e-999999999999", "12345678901234567890123456789012345678901234567890", "1e1000000", "nan1", "infx", "_1",
    "1e1_0", "0.1e-1_0", "0B101", "0x1.8p1", "0x1@1", "0b1e2", "0b1p2", "0b1@2", "0x1e", "0xp1", "0x", "0b", "0b2",
    "1p2", "1@-1", "1E+", "+", "-", ".", "e", "nan()", "nan(a_b)", "nan(a-b)", "NaN(x)", "infinit", "infinityy",
    "-Infinity", "+nan", "-nan", "@NaN@", "_", "__1__", "0x_1", "1.5e3_", "1.e5", ".e5", "0.", "00", "-0", "0e0",
    "1e0000000000000000000000005", "1e-400000000", "1e400000000", "1e323228496", "1e323228497", "1e-323228496",
    "1e-323228499", "0x1p1073741822", "0x1p1073741823", "0x1p-1073741824", "0x1p-1073741825", "0x1.8p-1073741825",
    "0x1.0000000000000000000000000000000001p-1073741825", "1e5e5", "0x.8", "0b.1", "0b1.1p1", "0x1P1", "0xA.Bp-3",
    "0xa@2", "0x-10", "0b-1", "0x+1", "0x@nan@", "0xinf", "0x-inf", "0x0x1", "0x0X1", "0b0B1", "0x.", "0x-.8",
    "-0x35", "+0x10", "0x1p", "0b102", "0xinfinity", "0bnan(1)", "@nan@(T)", "@NaN@()", "0x1e5", "0b1e-1", "1@", "@", "@inf", "@nan", "0.000000000001", "1e-12", "0.3333333333333333", "3.14159265358979323846",
    "340282366920938463463374607431768211456", "680564733841876926926749214863536422911", "1e20000", "1e20001",
    "1e-20000", "1e-20001", "9" * 60, "-" + "9" * 45 + ".5", "0.1" + "0" * 50 + "1", "1e+0", "٣", "x", "",
]


def truth(token: str):
    """gmpy2's answer: None (ValueError), "nan", "inf", "-inf", or [sign, mantissa bits, exponent]."""
    try:
        value = gmpy2.mpfr(token, 129)
    except ValueError:
        return None
    if gmpy2.is_nan(value):
        return "nan"
    if gmpy2.is_infinite(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return [1, "0", 0]
    bits, exponent, _ = value.digits(2)  # (abs() would round to the context's 53 bits)
    sign = -1 if bits.startswith("-") else 1
    return [sign, bits.lstrip("-").rstrip("0"), exponent]


def emulated(token: str):
    return mpfr.canonical_form(mpfr.parse(token))


def differ_truth(a: str, b: str):
    precision = gmpy2.mpfr(1e-12, 129)
    try:
        return bool(abs(gmpy2.mpfr(a, 129) - gmpy2.mpfr(b, 129)) > precision)
    except ValueError:
        return None


def differ_emulated(a: str, b: str):
    x, y = mpfr.parse(a), mpfr.parse(b)
    return None if x is None or y is None else mpfr.differ(x, y)


def random_token(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.25:
        alphabet = "0123456789.eE+-_xXbBpP@nainfty()AF"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
    if kind < 0.5:
        whole = str(rng.randint(0, 10 ** rng.randint(0, 45)))
        frac = str(rng.randint(0, 10 ** rng.randint(0, 45)))
        sign = rng.choice(["", "-", "+"])
        exp = rng.choice(["", f"e{rng.randint(-400, 400)}", f"E+{rng.randint(0, 30)}", f"e{rng.randint(-25000, 25000)}"])
        return f"{sign}{whole}.{frac}{exp}" if rng.random() < 0.7 else f"{sign}{whole}{exp}"
    if kind < 0.7:
        m = rng.getrandbits(rng.randint(1, 200))
        return rng.choice([f"0x{m:x}p{rng.randint(-300, 300)}", f"0b{m:b}", f"0x{m:x}.{rng.getrandbits(20):x}",
                           f"-0x{m:x}@{rng.randint(-10, 10)}"])
    return repr(rng.uniform(-1e6, 1e6)) if rng.random() < 0.5 else f"{rng.random():.{rng.randint(1, 20)}f}"


def near_pair(rng: random.Random) -> tuple[str, str]:
    """Two numbers whose difference is near the tolerance, or equal to 129 bits, or near a 53-bit rounding tie."""
    base = rng.choice([0.0, 1.0, 0.5, 123456.789, 1e-12, 2.0 ** 40, rng.uniform(-1e3, 1e3)])
    delta = rng.choice([1e-12, 1e-12 * (1 + rng.uniform(-1e-6, 1e-6)), 1.0000000000000002e-12, 2 ** -40,
                        9.999999999999999e-13, rng.uniform(0, 2e-12), 0.0])
    a = f"{base:.40f}"
    b = f"{base + delta:.40f}" if rng.random() < 0.5 else format(float(base) + delta, ".60g")
    if rng.random() < 0.3:
        b = repr(float(b))
    return a, b


def vectors(n_tokens: int, n_pairs: int, seed: int):
    rng = random.Random(seed)
    tokens = CURATED + [random_token(rng) for _ in range(n_tokens)]
    pairs = [near_pair(rng) for _ in range(n_pairs)]
    numeric = [t for t in tokens if truth(t) is not None]
    pairs += [(rng.choice(numeric), rng.choice(numeric)) for _ in range(n_pairs)]
    pairs += [(t, t) for t in CURATED]
    return tokens, pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.check:
        tokens, pairs = vectors(args.check, args.check, seed=12345)
        bad = [("parse", t, truth(t), emulated(t)) for t in tokens if truth(t) != emulated(t)]
        bad += [("differ", p, differ_truth(*p), differ_emulated(*p)) for p in pairs
                if differ_truth(*p) != differ_emulated(*p)]
        for row in bad[:50]:
            print(row)
        print(f"{len(bad)} disagreements in {len(tokens)} tokens and {len(pairs)} pairs")
        return 1 if bad else 0
    tokens, pairs = vectors(3000, 2000, seed=7)
    data = {"gmpy2": gmpy2.version(), "mpfr": gmpy2.mpfr_version(),
            "parse": [[t, truth(t)] for t in tokens],
            "differ": [[a, b, differ_truth(a, b)] for a, b in pairs]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8") as f:
        json.dump(data, f)
    print(f"wrote {len(tokens)} tokens and {len(pairs)} pairs from {data['gmpy2']} ({data['mpfr']}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
