"""What ExecEval's output comparison does with numbers: ``gmpy2.mpfr(token, 129)`` and ``abs(a - b) > 1e-12``.

Why our own code instead of gmpy2: gmpy2 is a C extension (GMP, MPFR) that the project does not otherwise need,
and its string parsing changed between releases (2.3 accepts a trailing space and ``0X1A``, 2.1.5 does not). ExecEval's
image installed gmpy2 without a version in 2023, so 2.1.5 with MPFR 4.1.1; this module reproduces that release,
quirks included, and ``tests/data/multilang/mpfr_vectors.json.gz`` (recorded from gmpy2 2.1.5 by
``scripts/record_mpfr_vectors.py``) pins it.

What gmpy2 2.1.5 accepts (``mpfr(s, 129)``, base 0): only ASCII; every ``_`` is removed first (so ``"_"`` and
``""`` read as 0); an optional sign; ``nan``/``@nan@`` (optionally followed by ``(`` alphanumerics ``)``), ``inf``/``infinity``/
``@inf@`` in any case; else a mantissa (digits with at most one point, at least one digit) in base 10 with an
exponent ``e``/``E``/``@`` (power of 10), or after ``0x`` in base 16 with ``p``/``P`` (power of 2) or ``@`` (power of
16), or after ``0b`` in base 2 with ``e``/``E``/``p``/``P``/``@`` (power of 2); uppercase ``0X``/``0B`` are refused.
The value is rounded to 129 bits (to nearest, ties to even) within MPFR's exponent range (2**+-1073741823: beyond it
infinity, or zero below half the smallest number). The difference ``a - b`` is rounded to the context's 53 bits.

Exactness: values are exact (integer arithmetic) except a decimal token whose exponent is beyond +-20000, which
is rounded through ``decimal`` with 90 digits: correct except within 1e-80 (relative) of a rounding tie.
"""
from __future__ import annotations

import decimal
import re
from fractions import Fraction
from typing import NamedTuple

PARSE_BITS = 129  # ExecEval: gmpy2.mpfr(token, 129)
CONTEXT_BITS = 53  # gmpy2's default context: the precision of a - b
EMAX = 1073741823  # gmpy2's default context exponent range (MPFR's x = 0.m * 2**E, EMIN <= E <= EMAX)
EMIN = -1073741823
TOLERANCE = Fraction(1e-12)  # mpfr(1e-12, 129): the double nearest 1e-12, exactly
EXACT_DECIMAL_EXPONENT = 20000  # beyond this a decimal token goes through the decimal module

_SPECIAL = re.compile(r"([+-]?)(?:((?:@nan@|nan)(?:\([0-9A-Za-z]*\))?)|(@inf@|infinity|inf))\Z", re.IGNORECASE)
_NUMBER = {  # MPFR's mpfr_strtofr in each base gmpy2 uses: sign, own prefix (bases 2, 16), mantissa, exponent
    10: re.compile(r"([+-]?)()([0-9]*)(?:\.([0-9]*))?(?:([eE@])([+-]?[0-9]+))?\Z"),
    16: re.compile(r"([+-]?)(0[xX])?([0-9A-Fa-f]*)(?:\.([0-9A-Fa-f]*))?(?:([pP@])([+-]?[0-9]+))?\Z"),
    2: re.compile(r"([+-]?)(0[bB])?([01]*)(?:\.([01]*))?(?:([eEpP@])([+-]?[0-9]+))?\Z"),
}


class Real(NamedTuple):
    """An MPFR value: ``kind`` "nan", "inf" or "finite"; finite = sign * m * 2**e (m = 0 for zero)."""
    kind: str
    sign: int = 1
    m: int = 0
    e: int = 0


NAN = Real("nan")


def canonical_form(value: Real | None):
    """A value in the form the recorded gmpy2 vectors hold it (scripts/record_mpfr_vectors.py): None, "nan",
    "inf", "-inf", or [sign, the mantissa's bits without trailing zeros, the binary exponent of the number as
    0.bits * 2**exponent]: one form whichever (m, e) pair stands for the number."""
    if value is None:
        return None
    if value.kind == "nan":
        return "nan"
    if value.kind == "inf":
        return "inf" if value.sign > 0 else "-inf"
    if value.m == 0:
        return [1, "0", 0]
    bits = bin(value.m)[2:]
    return [value.sign, bits.rstrip("0"), value.e + len(bits)]


def _round_ratio(num: int, den: int, bits: int) -> tuple[int, int, int]:
    """(m, e, direction): num/den (both > 0) rounded to ``bits`` bits, to nearest, ties to even, as m * 2**e;
    direction is +1 if rounded up, -1 if down, 0 if exact."""
    shift = bits + 2 - (num.bit_length() - den.bit_length())
    n, d = (num << shift, den) if shift >= 0 else (num, den << -shift)
    q, r = divmod(n, d)
    extra = q.bit_length() - bits  # 2 or 3 guard bits
    m, rest, half = q >> extra, q & ((1 << extra) - 1), 1 << (extra - 1)
    direction = 0 if rest == 0 and r == 0 else -1
    if rest > half or (rest == half and (r or m & 1)):
        m, direction = m + 1, 1
        if m == 1 << bits:
            m, extra = m >> 1, extra + 1
    return m, extra - shift, direction


def _in_range(sign: int, m: int, e: int, direction: int, bits: int) -> Real:
    """A rounded value checked against MPFR's exponent range (mpfr_check_range, rounding to nearest)."""
    exponent = e + bits  # MPFR's E: value = 0.m * 2**E
    if exponent > EMAX:
        return Real("inf", sign)
    if exponent < EMIN:  # to nearest: zero up to half the smallest number 2**(EMIN-1), else that number
        to_zero = exponent < EMIN - 1 or (m == 1 << (bits - 1) and direction >= 0)
        return Real("finite", sign, 0, 0) if to_zero else Real("finite", sign, 1, EMIN - 1)
    return Real("finite", sign, m, e)


def _finite(sign: int, num: int, den: int, bits: int, offset: int = 0) -> Real:
    """sign * num/den * 2**offset rounded to ``bits`` bits inside MPFR's exponent range."""
    if num == 0:
        return Real("finite", sign, 0, 0)
    m, e, direction = _round_ratio(num, den, bits)
    return _in_range(sign, m, e + offset, direction, bits)


def _digits(whole: str, frac: str | None, base: int) -> tuple[int, int] | None:
    """(integer mantissa, number of fraction digits), None without any digit."""
    frac = frac or ""
    if not whole and not frac:
        return None
    return int(whole + frac, base), len(frac)


def _from_decimal(sign: int, mantissa: int, exponent10: int) -> Real:
    if mantissa == 0:
        return Real("finite", sign, 0, 0)
    if abs(exponent10) <= EXACT_DECIMAL_EXPONENT:
        if exponent10 >= 0:
            return _finite(sign, mantissa * 10 ** exponent10, 1, PARSE_BITS)
        return _finite(sign, mantissa, 10 ** -exponent10, PARSE_BITS)
    magnitude = len(str(mantissa)) + exponent10  # 10**(magnitude-1) <= value < 10**magnitude
    if magnitude > 323228498:  # far above 2**EMAX
        return Real("inf", sign)
    if magnitude < -323228498:  # far below 2**EMIN
        return Real("finite", sign, 0, 0)
    return _from_huge_decimal(sign, mantissa, exponent10)


def _from_huge_decimal(sign: int, mantissa: int, exponent10: int) -> Real:
    """A decimal exponent beyond +-20000: divide by a power of two near the value with 90 significant digits."""
    context = decimal.Context(prec=90, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    value = decimal.Decimal(mantissa).scaleb(exponent10, context)
    log2 = context.divide(value.ln(context), decimal.Decimal(2).ln(context))
    k = int(log2.to_integral_value(rounding=decimal.ROUND_FLOOR)) - PARSE_BITS - 40
    power = context.power(decimal.Decimal(2), abs(k))
    scaled = context.divide(value, power) if k >= 0 else context.multiply(value, power)
    ratio = Fraction(scaled)
    return _finite(sign, ratio.numerator, ratio.denominator, PARSE_BITS, k)


def _from_power_of_two(sign: int, mantissa: int, exponent2: int) -> Real:
    if mantissa == 0:
        return Real("finite", sign, 0, 0)
    return _finite(sign, mantissa, 1, PARSE_BITS, exponent2)


def parse(token: str) -> Real | None:
    """``gmpy2.mpfr(token, 129)`` of gmpy2 2.1.5; None where it raises ValueError."""
    if not token.isascii() or "\x00" in token:
        return None
    text = token.replace("_", "")
    base, rest = 10, text
    if len(text) > 2 and text[:2] in ("0x", "0b"):  # gmpy2's own prefix test: lowercase, unsigned, not alone
        base, rest = (16 if text[1] == "x" else 2), text[2:]
    if rest == "":
        return Real("finite", 1, 0, 0)
    special = _SPECIAL.match(rest)
    if special:
        return NAN if special.group(2) else Real("inf", -1 if special.group(1) == "-" else 1)
    match = _NUMBER[base].match(rest)
    return _from_match(match, base) if match else None


def _from_match(match: re.Match, base: int) -> Real | None:
    sign = -1 if match.group(1) == "-" else 1
    digits = _digits(match.group(3), match.group(4), base)
    if digits is None:
        return None
    mantissa, fraction_digits = digits
    exponent = int(match.group(6) or 0)
    if base == 10:
        return _from_decimal(sign, mantissa, exponent - fraction_digits)
    if base == 16:
        power = exponent * (4 if match.group(5) == "@" else 1)
        return _from_power_of_two(sign, mantissa, power - 4 * fraction_digits)
    return _from_power_of_two(sign, mantissa, exponent - fraction_digits)


def _difference(a: Real, b: Real) -> Real:
    """a - b rounded to the context's 53 bits (both finite)."""
    present = [x for x in (a, b) if x.m]
    if not present:
        return Real("finite", 1, 0, 0)
    top = max(x.e + x.m.bit_length() for x in present)
    floor = top - PARSE_BITS - CONTEXT_BITS - 8  # below this only a sticky bit matters

    def scaled(x: Real) -> int:  # x in units of 2**(floor - 1)
        if x.m == 0:
            return 0
        if x.e >= floor:
            return x.sign * (x.m << (x.e - floor + 1))
        return x.sign  # far below the result's last bit: one unit keeps the rounding direction

    total = scaled(a) - scaled(b)
    if total == 0:
        return Real("finite", 1, 0, 0)
    return _finite(1 if total > 0 else -1, abs(total), 1, CONTEXT_BITS, floor - 1)


def differ(a: Real, b: Real) -> bool:
    """``abs(a - b) > mpfr(1e-12, 129)`` as gmpy2 computes it: a NaN difference compares false."""
    if a.kind == "nan" or b.kind == "nan":
        return False
    if a.kind == "inf" or b.kind == "inf":
        return not (a.kind == b.kind == "inf" and a.sign == b.sign)  # inf - inf is NaN
    d = _difference(a, b)
    if d.kind == "inf":
        return True
    if d.m == 0:
        return False
    top = d.e + d.m.bit_length()  # 2**(top-1) <= |d| < 2**top; the tolerance is near 2**-39.9
    if top > -30 or top < -50:
        return top > -30
    return Fraction(d.m) * Fraction(2) ** d.e > TOLERANCE
