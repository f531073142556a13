"""numba kernels that read text: the image-id hash table and the result-file parser.

Used by :mod:`vocmap.io.result_files` only. ``parse_result_lines`` reads a whole
devkit result file in one pass over its bytes; numbers are read exactly as C's
``strtod`` reads them (an exact fast path, the rest handed back to Python's
correctly rounded ``float``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vocmap.core.kernels import JIT_OPTIONS

_JIT = JIT_OPTIONS

# Why a parsed result line is not usable (``parse_result_lines`` error codes).
LINE_OK = 0
LINE_FIELD_COUNT = 1
LINE_NOT_A_NUMBER = 2
LINE_NOT_FINITE = 3


# --------------------------------------------------------------------------- #
# Image-id lookup: an open-addressing hash table over the image set's ids
# --------------------------------------------------------------------------- #


@njit(**_JIT)
def _hash_bytes(buf, start, stop):
    """64-bit FNV-1a of ``buf[start:stop]``."""
    h = np.uint64(14695981039346656037)
    prime = np.uint64(1099511628211)
    for i in range(start, stop):
        h = (h ^ np.uint64(buf[i])) * prime
    return h


@njit(**_JIT)
def _bytes_equal(a, a_start, a_stop, b, b_start, b_stop):
    if a_stop - a_start != b_stop - b_start:
        return False
    for i in range(a_stop - a_start):
        if a[a_start + i] != b[b_start + i]:
            return False
    return True


@njit(**_JIT)
def build_id_table(id_bytes, id_offsets):
    """A hash table for looking image ids up by their bytes.

    Args:
        id_bytes: (total,) uint8, the UTF-8 ids concatenated.
        id_offsets: (n_images + 1,) int64, id ``i`` is ``id_bytes[off[i]:off[i+1]]``.

    Returns:
        slots: (size,) int64, a power-of-two table of image indices (-1 empty).
        duplicate: index of the first id that repeats an earlier one, or -1.
    """
    n = id_offsets.shape[0] - 1
    size = 16
    while size < 2 * n:
        size *= 2
    slots = np.full(size, -1, dtype=np.int64)
    mask = np.uint64(size - 1)
    for i in range(n):
        start = id_offsets[i]
        stop = id_offsets[i + 1]
        pos = _hash_bytes(id_bytes, start, stop) & mask
        while slots[pos] != -1:
            other = slots[pos]
            if _bytes_equal(
                id_bytes, start, stop, id_bytes, id_offsets[other], id_offsets[other + 1]
            ):
                return slots, i
            pos = (pos + np.uint64(1)) & mask
        slots[pos] = i
    return slots, -1


@njit(**_JIT)
def _lookup_id(buf, start, stop, id_bytes, id_offsets, slots):
    mask = np.uint64(slots.shape[0] - 1)
    pos = _hash_bytes(buf, start, stop) & mask
    while slots[pos] != -1:
        index = slots[pos]
        if _bytes_equal(buf, start, stop, id_bytes, id_offsets[index], id_offsets[index + 1]):
            return index
        pos = (pos + np.uint64(1)) & mask
    return -1


# --------------------------------------------------------------------------- #
# Result-file parsing
# --------------------------------------------------------------------------- #

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)  # all exact doubles


_NAN = np.frombuffer(b"nan", dtype=np.uint8)
_INF = np.frombuffer(b"inf", dtype=np.uint8)
_INFINITY = np.frombuffer(b"infinity", dtype=np.uint8)


@njit(**_JIT)
def _word_is(buf, start, stop, word):
    """True if ``buf[start:stop]``, lower-cased, is ``word`` (lower-case ASCII)."""
    if stop - start != word.shape[0]:
        return False
    for k in range(word.shape[0]):
        if (buf[start + k] | 32) != word[k]:
            return False
    return True


_BLANK = np.zeros(256, dtype=np.bool_)
_BLANK[[9, 10, 11, 12, 13, 32]] = True  # \t \n \v \f \r and space


@njit(**_JIT)
def _is_space(c):
    return _BLANK[c]


@njit(**_JIT)
def exact_fits(significant, mantissa, exponent):
    """True when ``mantissa * 10**exponent`` is one correctly rounded IEEE operation on
    exact operands (Clinger's fast path: ``m <= 2**53``, ``|e| <= 22``); the readers
    hand every other number to Python's ``float``."""
    return significant <= 18 and mantissa <= 9007199254740992 and -22 <= exponent <= 22


@njit(**_JIT)
def exact_value(mantissa, exponent):
    """``mantissa * 10**exponent`` as the nearest double (where :func:`exact_fits`)."""
    value = float(mantissa)
    if exponent >= 0:
        return value * _POW10[exponent]
    return value / _POW10[-exponent]


@njit(**_JIT)
def _parse_number(buf, start, limit):
    """Parse the blank-delimited token at ``buf[start]`` as a decimal number.

    The token ends at the first blank (or ``limit``). Returns
    ``(status, value, end)``: status 0 = parsed exactly; 1 = valid syntax but
    outside the exact fast path (the caller re-parses it with Python's
    correctly rounded ``float``); 2 = not a number; 3 = NaN or infinity.
    ``end`` is where the token stops.

    The fast path is Clinger's: at most 18 significant digits forming an integer
    ``m <= 2**53`` and a decimal exponent ``|e| <= 22``; then ``m * 10**e`` or
    ``m / 10**-e`` is one correctly rounded IEEE operation on exact operands.
    """
    stop = limit
    i = start
    negative = False
    if i < stop and (buf[i] == 43 or buf[i] == 45):  # '+' '-'
        negative = buf[i] == 45
        i += 1
    if i >= stop or _is_space(buf[i]):
        return 2, 0.0, i
    c = buf[i] | 32  # lower case
    if c == 110 or c == 105:  # 'n' or 'i': only nan, inf, infinity are words we know
        end = _token_end(buf, i, stop)
        if _word_is(buf, i, end, _NAN) or _word_is(buf, i, end, _INF):
            return 3, 0.0, end
        if _word_is(buf, i, end, _INFINITY):
            return 3, 0.0, end
        return 2, 0.0, end
    # Digits accumulate into an int64; `significant` counts digits from the first
    # non-zero one. Past 18 of them the sum may wrap, but then the fast path is
    # not taken, so the wrapped value is never used. (The integer and fraction
    # loops are written out twice on purpose: a shared helper returning a tuple
    # made the whole parser 30% slower.)
    mantissa = 0
    significant = 0
    integer_start = i
    while i < stop:
        d = np.int64(buf[i]) - 48
        if d < 0 or d > 9:
            break
        mantissa = mantissa * 10 + d
        if mantissa != 0:
            significant += 1
        i += 1
    digits = i - integer_start
    exponent = 0
    if i < stop and buf[i] == 46:  # '.'
        i += 1
        fraction_start = i
        while i < stop:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            mantissa = mantissa * 10 + d
            if mantissa != 0:
                significant += 1
            i += 1
        exponent = fraction_start - i
        digits += i - fraction_start
    if digits == 0:
        return 2, 0.0, _token_end(buf, i, stop)
    if i < stop and (buf[i] | 32) == 101:  # 'e'
        i += 1
        exp_negative = False
        if i < stop and (buf[i] == 43 or buf[i] == 45):
            exp_negative = buf[i] == 45
            i += 1
        exp_digits = 0
        exp_value = 0
        while i < stop and buf[i] >= 48 and buf[i] <= 57:
            if exp_value < 100000:
                exp_value = exp_value * 10 + (np.int64(buf[i]) - 48)
            exp_digits += 1
            i += 1
        if exp_digits == 0:
            return 2, 0.0, _token_end(buf, i, stop)
        exponent += -exp_value if exp_negative else exp_value
    if i < stop and not _is_space(buf[i]):
        return 2, 0.0, _token_end(buf, i, stop)
    if not exact_fits(significant, mantissa, exponent):
        if significant == 0:
            return 0, (-0.0 if negative else 0.0), i
        return 1, 0.0, i
    if mantissa == 0:
        return 0, (-0.0 if negative else 0.0), i
    value = exact_value(mantissa, exponent)
    return 0, (-value if negative else value), i


@njit(**_JIT)
def _parse_float(buf, start, stop):
    """Parse exactly ``buf[start:stop]`` as a number: ``(status, value)`` (see
    _parse_number; a token that ends early is not a number)."""
    status, value, end = _parse_number(buf, start, stop)
    if end != stop:
        return 2, 0.0
    return status, value


@njit(**_JIT)
def _skip_blanks(buf, pos, size):
    """Skip blank space other than a newline."""
    while pos < size and buf[pos] != 10 and _is_space(buf[pos]):
        pos += 1
    return pos


@njit(**_JIT)
def _token_end(buf, pos, size):
    while pos < size and not _is_space(buf[pos]):
        pos += 1
    return pos


@njit(**_JIT)
def parse_result_lines(buf, id_bytes, id_offsets, slots):
    """Parse a devkit result file: ``<image id> <score> <xmin> <ymin> <xmax> <ymax>``.

    Fields are separated by any run of blank space; ``\\r\\n`` and a leading
    UTF-8 BOM are accepted; blank lines are skipped. One pass over the bytes.

    Args:
        buf: (size,) uint8, the whole file.
        id_bytes, id_offsets, slots: the image-id table (see build_id_table).

    Returns:
        count: number of detection lines.
        image: (count,) int64 image index, -1 for an id not in the image set.
        scores: (count,) float64.
        boxes: (count, 4) float64 xmin, ymin, xmax, ymax.
        line_no: (count,) int64 1-based line number of each detection.
        slow: (k, 3) int64 rows ``(detection, field, byte start)`` of numbers the
            fast path left to Python (field 0 is the score, 1-4 the box); the
            number ends at the next blank. The caller fills in their values.
        slow_count: k.
        error_line, error_code, error_field: the first line that cannot be used
            (LINE_FIELD_COUNT, LINE_NOT_A_NUMBER, LINE_NOT_FINITE) and the 0-based
            field, or 0, LINE_OK, 0. Unknown image ids are not errors here.
    """
    size = buf.shape[0]
    pos = 0
    if size >= 3 and buf[0] == 0xEF and buf[1] == 0xBB and buf[2] == 0xBF:
        pos = 3
    # The shortest line, "a 1 1 1 1 1", has 11 bytes: this many rows always fit.
    capacity = size // 11 + 1
    image = np.empty(capacity, dtype=np.int64)
    scores = np.empty(capacity, dtype=np.float64)
    boxes = np.empty((capacity, 4), dtype=np.float64)
    line_no = np.empty(capacity, dtype=np.int64)
    slow = np.empty((16, 3), dtype=np.int64)
    slow_count = 0
    count = 0
    line = 0
    previous_start = 0
    previous_stop = 0
    previous_image = -2
    error_line = 0
    error_code = LINE_OK
    error_field = 0
    while pos < size:
        line += 1
        pos = _skip_blanks(buf, pos, size)
        if pos >= size:
            break
        if buf[pos] == 10:
            pos += 1
            continue
        id_start = pos
        pos = _token_end(buf, pos, size)
        id_stop = pos
        for field in range(5):
            pos = _skip_blanks(buf, pos, size)
            if pos >= size or buf[pos] == 10:
                error_code = LINE_FIELD_COUNT
                error_field = field + 1
                break
            start = pos
            status, value, pos = _parse_number(buf, pos, size)
            if status >= 2:
                error_code = LINE_NOT_A_NUMBER if status == 2 else LINE_NOT_FINITE
                error_field = field + 1
                break
            if status == 1:
                if slow_count == slow.shape[0]:
                    # Grown element by element: a slice assignment here costs
                    # seconds of compiling.
                    bigger = np.empty((2 * slow.shape[0], 3), dtype=np.int64)
                    for r in range(slow_count):
                        for c in range(3):
                            bigger[r, c] = slow[r, c]
                    slow = bigger
                slow[slow_count, 0] = count
                slow[slow_count, 1] = field
                slow[slow_count, 2] = start
                slow_count += 1
            if field == 0:
                scores[count] = value
            else:
                boxes[count, field - 1] = value
        if error_code == LINE_OK:
            pos = _skip_blanks(buf, pos, size)
            if pos < size and buf[pos] != 10:
                error_code = LINE_FIELD_COUNT
                error_field = 6
        if error_code != LINE_OK:
            error_line = line
            break
        pos += 1
        # Detectors write an image's detections together: try the last id first.
        if previous_image != -2 and _bytes_equal(
            buf, id_start, id_stop, buf, previous_start, previous_stop
        ):
            image[count] = previous_image
        else:
            previous_image = _lookup_id(buf, id_start, id_stop, id_bytes, id_offsets, slots)
            previous_start = id_start
            previous_stop = id_stop
            image[count] = previous_image
        line_no[count] = line
        count += 1
    return (
        count,
        image[:count],
        scores[:count],
        boxes[:count],
        line_no[:count],
        slow,
        slow_count,
        error_line,
        error_code,
        error_field,
    )
