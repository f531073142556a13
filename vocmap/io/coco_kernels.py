"""numba: one pass over the bytes of a COCO-style results JSON, for the shape
frameworks write, or a refusal that hands the file to the exact reader.

The fast shape: a list of flat records (objects) whose keys, in any order, are
``image_id`` (a string or an integer), ``category_id`` (an integer) or
``category`` (a string), ``bbox`` (a list of four numbers), ``score`` (a number),
and any other key with a string, number, ``true``, ``false`` or ``null``; JSON
blank space anywhere; numbers in any JSON notation. Strings are ASCII without
escapes or control characters. Anything else (escapes, nesting, a duplicate key,
NaN or Infinity literals, a BOM, a syntax error, a record the exact reader would
refuse) stops the pass with FALLBACK: :mod:`vocmap.io.coco_json` then reads the
file as Python's ``json`` does and gives the same numbers or its error.

Numbers are checked against JSON's grammar and converted in the same pass by
Clinger's exact fast path, as :mod:`vocmap.io.text_kernels` converts result
files; the records with a number it leaves are listed for Python's correctly
rounded ``float``. A JSON integer is Python's ``int``, so ``-0`` is ``0.0``.
A file may be read in pieces, one a thread: a piece ends where the next begins,
which the caller chose at a record's start and which the first piece confirms.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vocmap.core.kernels import JIT_OPTIONS
from vocmap.io.text_kernels import _bytes_equal, _lookup_id, exact_fits, exact_value

_JIT = JIT_OPTIONS

FAST_OK = 0
FALLBACK = 1

#: Codes of a record's category (vocmap.io.coco_categories.UNKNOWN and SKIP).
UNKNOWN = -1
SKIP = -2

# Keys of a record (bits of the ``seen`` mask).
_IMAGE = 0
_CATEGORY_ID = 1
_CATEGORY = 2
_BBOX = 3
_SCORE = 4
_OTHER = 5

_KEY_IMAGE = np.frombuffer(b"image_id", dtype=np.uint8)
_KEY_CATEGORY_ID = np.frombuffer(b"category_id", dtype=np.uint8)
_KEY_CATEGORY = np.frombuffer(b"category", dtype=np.uint8)
_KEY_BBOX = np.frombuffer(b"bbox", dtype=np.uint8)
_KEY_SCORE = np.frombuffer(b"score", dtype=np.uint8)
_TRUE = np.frombuffer(b"true", dtype=np.uint8)
_FALSE = np.frombuffer(b"false", dtype=np.uint8)
_NULL = np.frombuffer(b"null", dtype=np.uint8)

# A scanned number's kind.
_NOT_NUMBER = 0
_INTEGER = 1
_FLOAT = 2

#: The longest integer (digits) taken as an id here; longer ones go to Python.
_ID_DIGITS = 18


@njit(inline="always", **_JIT)
def _blank(buf, pos, size):
    """Skip JSON blank space (space, tab, newline, carriage return)."""
    while pos < size:
        c = buf[pos]
        if c == 32 or c == 10 or c == 13 or c == 9:
            pos += 1
        else:
            break
    return pos


#: Bytes that end a string in the fast shape: 1 the closing quote, 2 outside the
#: shape (a backslash, a control or non-ASCII byte), 0 any other.
_STRING_STOP = np.zeros(256, dtype=np.uint8)
_STRING_STOP[34] = 1
_STRING_STOP[92] = 2
_STRING_STOP[:32] = 2
_STRING_STOP[128:] = 2


@njit(**_JIT)
def _string_end(buf, pos, size):
    """``buf[pos]`` is ``"``: the position after the closing quote, or -1 where
    the string is outside the fast shape (an escape, a control or non-ASCII
    byte, no closing quote)."""
    i = pos + 1
    while i < size:
        stop = _STRING_STOP[buf[i]]
        if stop != 0:
            return i + 1 if stop == 1 else -1
        i += 1
    return -1


@njit(**_JIT)
def _same(buf, start, stop, word):
    """``buf[start:stop]`` is the bytes ``word``."""
    return _bytes_equal(buf, start, stop, word, 0, word.shape[0])


@njit(**_JIT)
def _key_of(buf, start, stop):
    """Which key the string contents ``buf[start:stop]`` are."""
    n = stop - start
    first = buf[start]
    if n == 8:
        if first == 105 and _same(buf, start, stop, _KEY_IMAGE):
            return _IMAGE
        if first == 99 and _same(buf, start, stop, _KEY_CATEGORY):
            return _CATEGORY
    elif n == 11 and _same(buf, start, stop, _KEY_CATEGORY_ID):
        return _CATEGORY_ID
    elif n == 4 and _same(buf, start, stop, _KEY_BBOX):
        return _BBOX
    elif n == 5 and _same(buf, start, stop, _KEY_SCORE):
        return _SCORE
    return _OTHER


@njit(**_JIT)
def _known_key(buf, pos, size):
    """``(key, end)`` when the string at ``pos`` is one of the five keys (the common
    case, matched in place), else ``(_OTHER, -1)``: scan it."""
    first = buf[pos + 1] if pos + 1 < size else 0
    word = _KEY_SCORE
    key = _SCORE
    if first == 105:  # 'i'
        word = _KEY_IMAGE
        key = _IMAGE
    elif first == 98:  # 'b'
        word = _KEY_BBOX
        key = _BBOX
    elif first == 99:  # 'c'
        n = _KEY_CATEGORY.shape[0]
        if pos + n + 2 < size and buf[pos + n + 1] == 95:  # '_': category_id
            word = _KEY_CATEGORY_ID
            key = _CATEGORY_ID
        else:
            word = _KEY_CATEGORY
            key = _CATEGORY
    elif first != 115:  # 's'
        return _OTHER, -1
    n = word.shape[0]
    stop = pos + 1 + n
    if stop < size and buf[stop] == 34 and _bytes_equal(buf, pos + 1, stop, word, 0, n):
        return key, stop + 1
    return _OTHER, -1


@njit(inline="always", **_JIT)
def _number(buf, pos, size):
    """The JSON number at ``pos``, in one pass: ``(kind, end, exact, value, integer,
    digits)``.

    ``kind`` is _INTEGER (``-?(0|[1-9][0-9]*)``), _FLOAT (with a fraction or an
    exponent) or _NOT_NUMBER (JSON's grammar does not match: ``+1``, ``01``,
    ``.5``, ``1.``, ``NaN``, ``-Infinity``). ``value`` is the double Python's
    ``json`` gives (``float(text)``; an integer's ``float(int(text))``, so ``-0``
    is ``+0.0``) where ``exact``; else the number is left to Python. ``integer``
    is an integer's value when it has at most _ID_DIGITS ``digits``.

    ``value`` is Clinger's exact fast path, as in
    :func:`vocmap.io.text_kernels._parse_number`: at most 18 significant digits
    forming ``m <= 2**53`` and a decimal exponent ``|e| <= 22``; then ``m * 10**e``
    or ``m / 10**-e`` is one correctly rounded IEEE operation on exact operands.
    """
    i = pos
    negative = False
    if i < size and buf[i] == 45:  # '-'
        negative = True
        i += 1
    if i >= size:
        return _NOT_NUMBER, i, False, 0.0, 0, 0
    mantissa = 0
    significant = 0
    integer_start = i
    first = buf[i]
    if first == 48:  # '0': no digit may follow
        i += 1
        if i < size and buf[i] >= 48 and buf[i] <= 57:
            return _NOT_NUMBER, i, False, 0.0, 0, 0
    elif first >= 49 and first <= 57:
        while i < size:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            significant += 1
            if significant <= 18:  # (past 18 the value is Python's: no int64 overflow)
                mantissa = mantissa * 10 + d
            i += 1
    else:
        return _NOT_NUMBER, i, False, 0.0, 0, 0
    digits = i - integer_start
    integer = mantissa if digits <= _ID_DIGITS else 0
    if negative:
        integer = -integer
    kind = _INTEGER
    exponent = 0
    if i < size and buf[i] == 46:  # '.'
        i += 1
        fraction_start = i
        while i < size:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            if mantissa != 0 or d != 0:
                significant += 1
            if significant <= 18:
                mantissa = mantissa * 10 + d
            i += 1
        if i == fraction_start:
            return _NOT_NUMBER, i, False, 0.0, 0, 0
        exponent = fraction_start - i
        kind = _FLOAT
    if i < size and (buf[i] == 101 or buf[i] == 69):  # 'e' 'E'
        i += 1
        exp_negative = False
        if i < size and (buf[i] == 43 or buf[i] == 45):
            exp_negative = buf[i] == 45
            i += 1
        exp_start = i
        exp_value = 0
        while i < size and buf[i] >= 48 and buf[i] <= 57:
            if exp_value < 100000:
                exp_value = exp_value * 10 + (np.int64(buf[i]) - 48)
            i += 1
        if i == exp_start:
            return _NOT_NUMBER, i, False, 0.0, 0, 0
        exponent += -exp_value if exp_negative else exp_value
        kind = _FLOAT
    if significant == 0:  # zero: +0.0 for an integer (Python's int), signed for a float
        return kind, i, True, (-0.0 if negative and kind == _FLOAT else 0.0), integer, digits
    if not exact_fits(significant, mantissa, exponent):
        return kind, i, False, 0.0, integer, digits
    value = exact_value(mantissa, exponent)
    return kind, i, True, (-value if negative else value), integer, digits


@njit(**_JIT)
def _scalar_end(buf, pos, size):
    """The end of a string, number, true, false or null at ``pos`` (another key's
    value), or -1 (an array, an object, or outside the fast shape)."""
    c = buf[pos]
    if c == 34:
        return _string_end(buf, pos, size)
    if c == 116 and _same(buf, pos, min(pos + 4, size), _TRUE):
        return pos + 4
    if c == 102 and _same(buf, pos, min(pos + 5, size), _FALSE):
        return pos + 5
    if c == 110 and _same(buf, pos, min(pos + 4, size), _NULL):
        return pos + 4
    kind, end, _, _, _, _ = _number(buf, pos, size)
    if kind == _NOT_NUMBER:
        return -1
    return end


@njit(**_JIT)
def _find_int(values, index, key):
    """``index[k]`` where ``values[k] == key`` (values sorted), else -1."""
    lo = 0
    hi = values.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    if lo < values.shape[0] and values[lo] == key:
        return index[lo]
    return -1


@njit(**_JIT)
def parse_coco_records(
    buf,
    begin,
    limit,
    code,
    image,
    scores,
    boxes,
    record,
    row0,
    id_bytes,
    id_offsets,
    id_slots,
    numeric_ids,
    numeric_index,
    category_ids,
    category_codes,
    name_bytes,
    name_offsets,
    name_slots,
    name_codes,
    ignore_unknown_images,
    ignore_unknown_categories,
):
    """Read a results JSON in the fast shape (module docstring) in one pass, or the
    records of one piece of it.

    Args:
        buf: (size,) uint8, the whole file.
        begin: 0 (the file, from its ``[``), or where a record of the list starts.
        limit: stop at the first record that starts at or after it (the next
            piece's ``begin``); ``size``: read to the list's ``]`` and the end.
        code, image, scores, boxes, record: the outputs, written from row ``row0``
            on, ``piece_capacity(begin, limit)`` rows at most: each kept record's
            (n,) int64 class index, (n,) int64 image index, (n,) float64 score,
            (n, 4) float64 VOC box ``x + 1, y + 1, x + w, y + h``, (n,) int64 index
            in this piece's records.
        id_bytes, id_offsets, id_slots: the image-id table (text_kernels.build_id_table).
        numeric_ids, numeric_index: (n,) int64 sorted integer ids and their image
            index (an integer ``image_id`` names the image whose digits read as it).
        category_ids, category_codes: (c,) int64 sorted category ids and each one's
            code (class index or SKIP).
        name_bytes, name_offsets, name_slots, name_codes: the same table for
            category names, and each name's code.
        ignore_unknown_images, ignore_unknown_categories: drop and count such
            records (else they are the exact reader's errors: FALLBACK).

    Returns:
        status: FAST_OK or FALLBACK.
        stop: where reading stopped (``limit`` exactly when a piece ended well).
        records: records read (kept, skipped and dropped).
        count: records kept (rows ``row0:row0 + count`` written).
        slow: (k, 11) int64 rows ``(row, start and stop of the score, x, y, w, h)``
            of kept records with a number left to Python's float.
        slow_count: k.
        dropped_images, dropped_categories: records dropped on request.
    """
    size = buf.shape[0]
    capacity = piece_capacity(begin, limit)
    slow = np.empty((16, 11), dtype=np.int64)
    slow_count = 0
    count = 0
    dropped_images = 0
    dropped_categories = 0
    values = np.empty(5, dtype=np.float64)  # score, x, y, w, h of this record
    spans = np.empty(10, dtype=np.int64)  # where they are written
    status = FALLBACK
    pos = begin
    closed = False
    if begin == 0:
        pos = _blank(buf, 0, size)
        if pos >= size or buf[pos] != 91:  # '['
            return status, pos, 0, 0, slow, 0, 0, 0
        pos = _blank(buf, pos + 1, size)
        if pos < size and buf[pos] == 93:  # ']'
            pos += 1
            closed = True
    number = 0
    previous_start = 0
    previous_stop = -1
    previous_image = -1
    while not closed:
        if pos >= size or buf[pos] != 123:  # '{'
            break
        pos = _blank(buf, pos + 1, size)
        seen = 0
        image_index = -1
        id_code = UNKNOWN
        name_code = UNKNOWN
        all_exact = True
        ok = False
        while pos < size and buf[pos] == 34:
            key, end = _known_key(buf, pos, size)
            if end < 0:
                end = _string_end(buf, pos, size)
                if end < 0:
                    break
                key = _key_of(buf, pos + 1, end - 1)
            if key != _OTHER:
                if seen & (1 << key):
                    break  # a duplicate key: json keeps the last one
                seen |= 1 << key
            pos = _blank(buf, end, size)
            if pos >= size or buf[pos] != 58:  # ':'
                break
            pos = _blank(buf, pos + 1, size)
            if pos >= size:
                break
            c = buf[pos]
            if key == _IMAGE:
                if c == 34:
                    end = _string_end(buf, pos, size)
                    if end < 0:
                        break
                    if _bytes_equal(buf, pos, end, buf, previous_start, previous_stop):
                        image_index = previous_image
                    else:
                        image_index = _lookup_id(
                            buf, pos + 1, end - 1, id_bytes, id_offsets, id_slots
                        )
                        previous_start = pos
                        previous_stop = end
                        previous_image = image_index
                else:
                    kind, end, _, _, integer, digits = _number(buf, pos, size)
                    if kind != _INTEGER or digits > _ID_DIGITS:
                        break
                    image_index = _find_int(numeric_ids, numeric_index, integer)
            elif key == _CATEGORY_ID:
                kind, end, _, _, integer, digits = _number(buf, pos, size)
                if kind != _INTEGER or digits > _ID_DIGITS:
                    break
                id_code = _find_int(category_ids, category_codes, integer)  # -1: UNKNOWN
            elif key == _CATEGORY:
                if c != 34:
                    break
                end = _string_end(buf, pos, size)
                if end < 0:
                    break
                found = _lookup_id(buf, pos + 1, end - 1, name_bytes, name_offsets, name_slots)
                name_code = name_codes[found] if found >= 0 else UNKNOWN
            elif key == _SCORE:
                kind, end, exact, value, _, _ = _number(buf, pos, size)
                if kind == _NOT_NUMBER or (kind == _INTEGER and not exact):
                    break  # (a long integer: Python's int, then float)
                values[0] = value
                spans[0] = pos
                spans[1] = end
                all_exact = all_exact and exact
            elif key == _BBOX:
                if c != 91:  # '['
                    break
                pos = _blank(buf, pos + 1, size)
                field = 1
                while field < 5:
                    kind, end, exact, value, _, _ = _number(buf, pos, size)
                    if kind == _NOT_NUMBER or (kind == _INTEGER and not exact):
                        break
                    values[field] = value
                    spans[2 * field] = pos
                    spans[2 * field + 1] = end
                    all_exact = all_exact and exact
                    field += 1
                    pos = _blank(buf, end, size)
                    if field < 5:
                        if pos >= size or buf[pos] != 44:  # ','
                            break
                        pos = _blank(buf, pos + 1, size)
                if field < 5 or pos >= size or buf[pos] != 93:  # ']'
                    break
                end = pos + 1
            else:
                end = _scalar_end(buf, pos, size)
                if end < 0:
                    break
            pos = _blank(buf, end, size)
            if pos < size and buf[pos] == 44:  # ','
                pos = _blank(buf, pos + 1, size)
                continue
            if pos < size and buf[pos] == 125:  # '}'
                pos += 1
                ok = True
            break
        if not ok:
            break
        has_id = (seen >> _CATEGORY_ID) & 1
        has_name = (seen >> _CATEGORY) & 1
        required = (1 << _IMAGE) | (1 << _BBOX) | (1 << _SCORE)
        if (seen & required) != required or has_id + has_name != 1:
            break
        cls = id_code if has_id else name_code
        keep = True
        if cls == SKIP:
            keep = False
        elif cls == UNKNOWN:
            if not ignore_unknown_categories:
                break
            dropped_categories += 1
            keep = False
        elif image_index < 0:
            if not ignore_unknown_images:
                break
            dropped_images += 1
            keep = False
        if keep:
            if count >= capacity:
                break
            x = values[1]
            y = values[2]
            xmax = x + values[3]
            ymax = y + values[4]
            xmin = x + 1.0
            ymin = y + 1.0
            if all_exact:
                if not (
                    np.isfinite(values[0])
                    and np.isfinite(xmin)
                    and np.isfinite(ymin)
                    and np.isfinite(xmax)
                    and np.isfinite(ymax)
                ):
                    break  # the exact reader's error
            else:
                if slow_count == slow.shape[0]:
                    bigger = np.empty((2 * slow.shape[0], 11), dtype=np.int64)
                    for r in range(slow_count):
                        for k in range(11):
                            bigger[r, k] = slow[r, k]
                    slow = bigger
                slow[slow_count, 0] = row0 + count
                for k in range(10):
                    slow[slow_count, 1 + k] = spans[k]
                slow_count += 1
            row = row0 + count
            code[row] = cls
            image[row] = image_index
            scores[row] = values[0]
            boxes[row, 0] = xmin
            boxes[row, 1] = ymin
            boxes[row, 2] = xmax
            boxes[row, 3] = ymax
            record[row] = number
            count += 1
        number += 1
        pos = _blank(buf, pos, size)
        if pos < size and buf[pos] == 44:  # ','
            pos = _blank(buf, pos + 1, size)
            if pos >= limit:
                break  # the next piece's first record (status: the caller checks stop)
            continue
        if pos < size and buf[pos] == 93:  # ']'
            pos += 1
            closed = True
        break
    whole = closed and limit == size and _blank(buf, pos, size) == size
    piece = not closed and limit < size and pos == limit
    if whole or piece:
        status = FAST_OK
    return status, pos, number, count, slow, slow_count, dropped_images, dropped_categories


@njit(**_JIT)
def piece_capacity(begin, limit):
    """Rows a piece ``begin:limit`` may keep: no record in the fast shape is
    shorter than 56 bytes (``{"image_id":1,"category":"","bbox":[1,1,1,1],"score":1}``
    and its comma)."""
    return (limit - begin) // 56 + 2


@njit(**_JIT)
def group_by_class(classes, code, image, scores, boxes, record, pieces):
    """The kept records of every piece grouped by class, each class in the list's
    order (a stable counting sort).

    Args:
        classes: the number of classes (codes are ``0..classes-1``).
        code, image, scores, boxes, record: parse_coco_records' outputs.
        pieces: (p, 3) int64 rows ``(row0, count, records before the piece)``.

    Returns:
        ``(offsets (classes + 1,), image, scores, boxes, record)``: class ``c`` is
        rows ``offsets[c]:offsets[c+1]``; ``record`` is the index in the whole list.
    """
    offsets = np.zeros(classes + 1, dtype=np.int64)
    for p in range(pieces.shape[0]):
        for k in range(pieces[p, 0], pieces[p, 0] + pieces[p, 1]):
            offsets[code[k] + 1] += 1
    for c in range(classes):
        offsets[c + 1] += offsets[c]
    n = offsets[classes]
    fill = offsets[:-1].copy()
    image_out = np.empty(n, dtype=np.int64)
    scores_out = np.empty(n, dtype=np.float64)
    boxes_out = np.empty((n, 4), dtype=np.float64)
    record_out = np.empty(n, dtype=np.int64)
    for p in range(pieces.shape[0]):
        before = pieces[p, 2]
        for k in range(pieces[p, 0], pieces[p, 0] + pieces[p, 1]):
            c = code[k]
            j = fill[c]
            fill[c] = j + 1
            image_out[j] = image[k]
            scores_out[j] = scores[k]
            for m in range(4):
                boxes_out[j, m] = boxes[k, m]
            record_out[j] = record[k] + before
    return offsets, image_out, scores_out, boxes_out, record_out
