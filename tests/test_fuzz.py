"""Fuzzing the readers: a damaged file gives a correct result or a genevec error naming the file.

Real excerpts of the GTEx GCT files (and small GeneVectors saved with ``.save()``) are mutated by
hypothesis: byte flips, insertions, deletions, truncation (plain and inside a gzip stream),
duplicated, removed and swapped lines and fields, CRLF line ends, a UTF-8 BOM, headers shorter or
longer than the rows, gene symbols with spaces or quotes, wrong dims lines, non-UTF-8 bytes, odd
count tokens, the empty file. The only acceptable outcomes are

* a result that equals an independent brute-force parse of the same bytes (and has non-negative
  integer counts, unique non-empty names, the shape the file implies), or
* a ``GeneVecError`` (or a ValueError / KeyError / FileNotFoundError / UnicodeError) raised by
  genevec itself, whose message names the file.

Anything else (IndexError, TypeError, zlib/struct errors, EOFError, numpy or pandas internals, a
RuntimeWarning, a hang) fails the test. CI runs a few hundred examples per test, derandomized;
set ``GENEVEC_FUZZ_EXAMPLES=5000`` for a long run by hand. The inputs that once broke a reader are
kept below as regular tests.

Over 500 lines: the damage strategies and the brute-force reference parsers (GCT, word2vec) are shared
by every fuzz test, and the regression inputs sit beside them.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import math
import os
import re
import signal
import tempfile
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

import genevec
from genevec import GeneVectors, load_vectors
from genevec.exceptions import CountsError, FileFormatError, GeneVecError

# damaged dims lines and absent samples warn (DataWarning) and read on: that is a correct outcome
pytestmark = pytest.mark.filterwarnings("ignore::genevec.exceptions.DataWarning")

GENEVEC_DIR = Path(genevec.__file__).resolve().parent
N_EXAMPLES = int(os.environ.get("GENEVEC_FUZZ_EXAMPLES", "400"))
# GENEVEC_FUZZ_RANDOM=1 draws fresh cases on each run (CI keeps the same, derandomized ones)
FUZZ = settings(max_examples=N_EXAMPLES, deadline=None, database=None,
                derandomize=os.environ.get("GENEVEC_FUZZ_RANDOM", "0") != "1",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ALLOWED_BUILTINS = (ValueError, KeyError, FileNotFoundError, UnicodeError)
TIMEOUT_S = 20  # a single small file that takes longer than this is a hang

GCT_SOURCES = {
    "v6_skin_bladder": ("gtex_v6_skin_bladder", "gtex_v6_skin_bladder_gene_reads.gct.gz"),
    "v8_acmg59": ("gtex_v8_acmg59", "GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_reads.acmg_59.gct.gz"),
}
BOM = b"\xef\xbb\xbf"
MISSING_SYMBOLS = {"", "na", "nan", "n/a", "none", "null", "-"}
MAX_EXACT = 2 ** 53  # counts must be below: from 2**53 on, float64 (the parser's type) rounds them


# ------------------------------------------------------------------------------------- base files
def _gct_excerpt(parts, n_lines=20, n_samples=10) -> bytes:
    """The first ``n_lines`` lines and ``n_samples`` sample columns of a real GCT, dims line fixed."""
    with gzip.open(shared_file(*parts), "rt", encoding="utf-8") as fh:
        lines = [next(fh).rstrip("\n") for _ in range(n_lines)]
    rows = ["\t".join(line.split("\t")[:2 + n_samples]) for line in lines[2:]]
    return ("#1.2\n" + f"{n_lines - 3}\t{n_samples}\n" + "\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def gct_bases() -> dict[str, bytes]:
    return {key: _gct_excerpt(parts) for key, parts in GCT_SOURCES.items()}


def _vector_base(tmp: Path, dtype, metadata) -> tuple[bytes, bytes | None]:
    """word2vec text (and sidecar) of 8 real gene symbols x 5 dims, written by GeneVectors.save."""
    excerpt = _gct_excerpt(GCT_SOURCES["v8_acmg59"], n_lines=11).decode().splitlines()[3:]
    genes = [line.split("\t")[1] for line in excerpt]
    rng = np.random.default_rng(7)
    gv = GeneVectors(rng.standard_normal((len(genes), 5)).astype(dtype), genes, metadata=metadata)
    path = tmp / f"base_{np.dtype(dtype).name}.txt"
    gv.save(path)
    side = Path(str(path) + ".json")
    return path.read_bytes(), side.read_bytes() if side.exists() else None


@pytest.fixture(scope="module")
def vector_bases() -> dict[str, tuple[bytes, bytes | None]]:
    with tempfile.TemporaryDirectory() as tmp:
        return {"float32": _vector_base(Path(tmp), np.float32, None),
                "float64": _vector_base(Path(tmp), np.float64, {"dim": 5, "x_max": 100, "genes": ["A", "B"]})}


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="genevec-fuzz-") as tmp:
        yield Path(tmp)


_counter = itertools.count()


def _fresh(workdir: Path, suffix: str) -> Path:
    return workdir / f"case{next(_counter)}{suffix}"


# ------------------------------------------------------------------------------------- mutations
TOKENS = [
    b"", b" ", b"-1", b"-0", b"1.5", b"1e3", b"1E400", b"nan", b"NA", b"inf", b"-inf", b"Infinity",
    b"99999999999999999999", b"9223372036854775808", b"9007199254740993", b"0x10", b"1_0", b"+7",
    "\u0661\u0662".encode(), "\uff11".encode(), b"\xff\xfe", b"\x00", b"1\x00", b'"5"', b"'",
    b"TP 53", b'"TP53"', b"\t", b"\r", b"\n", b"\r\n", b"#1.2", b"Name", b"Description", BOM,
    b"\xe9", b"caf\xc3\xa9", b"1 2", b"\x1c", b"\x85", "\u2028".encode(), "\xa0".encode(),
]


def _split_lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _join_lines(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def _mutate_bytes(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
    if not data:
        return draw(st.binary(max_size=8))
    pos = draw(st.integers(0, len(data)))
    if kind == "flip":
        pos = min(pos, len(data) - 1)
        return data[:pos] + bytes([draw(st.integers(0, 255))]) + data[pos + 1:]
    if kind == "insert":
        extra = draw(st.one_of(st.binary(min_size=1, max_size=4), st.sampled_from(TOKENS)))
        return data[:pos] + extra + data[pos:]
    if kind == "delete":
        return data[:pos] + data[pos + draw(st.integers(1, 12)):]
    return data[:pos]


def _mutate_lines(draw, data: bytes, sep: bytes) -> bytes:
    """Line- and field-level damage; ``sep`` is the field separator (tab for GCT, space for word2vec)."""
    lines = _split_lines(data)
    kind = draw(st.sampled_from(["dup_line", "drop_line", "swap_lines", "swap_fields", "drop_field",
                                 "add_field", "replace_field", "crlf", "bom", "blank_line", "replace_line"]))
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    j = draw(st.integers(0, max(0, len(lines) - 1)))
    if kind == "dup_line":
        lines.insert(j, lines[i])
    elif kind == "drop_line" and lines:
        del lines[i]
    elif kind == "swap_lines":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    elif kind == "bom":
        return BOM + data
    elif kind == "blank_line":
        lines.insert(i, draw(st.sampled_from([b"", b" ", b"\t", b"\r"])))
    elif kind == "replace_line":
        lines[i] = draw(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=10)))
    else:
        fields = lines[i].split(sep)
        a = draw(st.integers(0, max(0, len(fields) - 1)))
        b = draw(st.integers(0, max(0, len(fields) - 1)))
        if kind == "swap_fields":
            fields[a], fields[b] = fields[b], fields[a]
        elif kind == "drop_field":
            del fields[a]
        elif kind == "add_field":
            fields.insert(a, draw(st.sampled_from(TOKENS)))
        else:
            fields[a] = draw(st.one_of(st.sampled_from(TOKENS),
                                       st.text(max_size=6).map(lambda s: s.encode("utf-8"))))
        lines[i] = sep.join(fields)
    return _join_lines(lines)


def _damage(draw, data: bytes, sep: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            data = _mutate_lines(draw, data, sep)
        else:
            data = _mutate_bytes(draw, data)
    return data


def _container(draw, data: bytes) -> tuple[bytes, bool]:
    """Plain, gzip, truncated gzip or a gzip stream with a flipped byte; returns (bytes, gzipped name)."""
    kind = draw(st.sampled_from(["plain", "plain", "gz", "gz_truncated", "gz_flipped", "gz_named_plain"]))
    if kind == "plain":
        return data, False
    if kind == "gz_named_plain":
        return data, True
    packed = gzip.compress(data, mtime=0)
    if kind == "gz_truncated":
        return packed[:draw(st.integers(0, len(packed) - 1))], True
    if kind == "gz_flipped":
        pos = draw(st.integers(0, len(packed) - 1))
        return packed[:pos] + bytes([packed[pos] ^ draw(st.integers(1, 255))]) + packed[pos + 1:], True
    return packed, True


# ------------------------------------------------------------------------------------- the oracle
@contextlib.contextmanager
def _time_limit(seconds: int):
    def alarm(signum, frame):
        raise TimeoutError(f"the reader ran for more than {seconds} s on a tiny file (a hang)")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _raised_by_genevec(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and Path(last).resolve().is_relative_to(GENEVEC_DIR)


def _event(name: str) -> None:
    """Count an outcome in hypothesis' statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(name)


def _outcome(call, path: Path):
    """Run ``call()``; return its result, None for an acceptable error, or fail the test."""
    try:
        with warnings.catch_warnings(), _time_limit(TIMEOUT_S):
            warnings.simplefilter("error", RuntimeWarning)  # overflow / invalid casts are bugs too
            result = call()
        _event("outcome: a result")
        return result
    except GeneVecError as exc:
        _event(f"outcome: {type(exc).__name__}")
        if path.name not in str(exc):
            pytest.fail(f"{type(exc).__name__} does not name the file {path.name}: {exc}")
    except ALLOWED_BUILTINS as exc:
        _event(f"outcome: {type(exc).__name__}")
        ok = _raised_by_genevec(exc) and path.name in str(exc)
        if not ok:
            pytest.fail("a builtin error not raised by genevec, or not naming the file:\n"
                        + "".join(traceback.format_exception(exc)))
    except Exception as exc:  # noqa: BLE001 - anything else is the bug we look for
        pytest.fail("unexpected exception:\n" + "".join(traceback.format_exception(exc)))
    return None


def _number(field: bytes) -> float:
    """A count the way the reference accepts it: ASCII, finite, whole, 0 <= x <= 2**53."""
    text = field.decode("ascii")  # UnicodeDecodeError -> not a count
    value = float(np.array([text.encode()], dtype=np.float64)[0])
    if not math.isfinite(value) or value < 0 or value != math.floor(value) or value >= MAX_EXACT:
        raise ValueError(text)
    return value


def _gct_reference(raw: bytes, wanted=None):
    """Brute-force GCT parse of the file's bytes: (samples, labels, counts samples x genes) or None.

    ``wanted``: keep only these samples (in file order), as ``read_gct(samples=...)`` does.
    """
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        if raw.startswith(BOM):
            raw = raw[len(BOM):]
        lines = raw.split(b"\n")
        if len(lines) < 3 or lines[0].rstrip(b"\r\n").strip() != b"#1.2":
            return None
        dims = lines[1].rstrip(b"\r\n").decode().split()
        int(dims[0]), int(dims[1])
        header = lines[2].rstrip(b"\r\n").decode().split("\t")
        if len(header) < 3 or header[0].strip().lower() != "name" or header[1].strip().lower() != "description":
            return None
        samples = [s.strip() for s in header[2:]]
        if len(set(samples)) != len(samples) or not all(samples):
            return None
        keep = [k for k, s in enumerate(samples) if wanted is None or s in set(wanted)]
        if not keep:
            return None
        labels, rows = [], []
        for line in lines[3:]:
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            fields = line.split(b"\t")
            if len(fields) != len(header):
                return None
            name, desc = fields[0].decode().strip(), fields[1].decode().strip()
            if not name:
                return None
            labels.append(name if desc.lower() in MISSING_SYMBOLS else desc)
            rows.append([_number(fields[2 + k]) for k in keep])
        if not rows:
            return None
    except (ValueError, IndexError, OSError, EOFError, gzip.BadGzipFile):
        return None
    frame = pd.DataFrame(np.array(rows, dtype=np.float64).T, columns=labels)
    merged = frame.T.groupby(level=0, sort=False).sum().T
    return [samples[k] for k in keep], list(merged.columns), merged.to_numpy()


def _check_counts_frame(df, raw: bytes, path: Path, wanted=None) -> None:
    assert isinstance(df, pd.DataFrame)
    values = df.to_numpy()
    assert values.dtype == np.int64, df.dtypes
    assert (values >= 0).all()
    assert df.columns.is_unique and df.index.is_unique
    assert all(isinstance(g, str) and g for g in df.columns)
    expected = _gct_reference(raw, wanted)
    assert expected is not None, f"read_counts accepted {path.name}, which the reference rejects: {raw[:400]!r}"
    samples, labels, counts = expected
    assert list(df.index) == samples
    assert list(df.columns) == labels
    np.testing.assert_array_equal(values, counts.astype(np.int64))


def _word2vec_reference(raw: bytes, dtype):
    """Brute-force word2vec text parse: (genes, vectors) or None."""
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        lines = re.split(r"\r\n|\r|\n", text)
        head = lines[0].split()
        if len(head) != 2 or not all(h.isascii() and h.isdigit() for h in head):
            return None
        n, dim = int(head[0]), int(head[1])
        body = [line.split() for line in lines[1:]]
        while body and not body[-1]:
            body.pop()
        if n < 1 or dim < 1 or len(body) != n:
            return None
        genes = [parts[0] for parts in body]
        if len(set(genes)) != n or any(len(parts) != dim + 1 for parts in body):
            return None
        values = np.array([[float(v) if v.isascii() else float("x") for v in parts[1:]] for parts in body],
                          dtype=np.float64)
        with np.errstate(over="ignore"):
            cast = values.astype(dtype)
        if not np.isfinite(cast).all():
            return None
    except (ValueError, OSError, EOFError, gzip.BadGzipFile):
        return None
    return genes, cast


def _check_vectors(gv, raw: bytes, path: Path, dtype) -> None:
    assert isinstance(gv, GeneVectors)
    assert gv.vectors.dtype == dtype
    assert np.isfinite(gv.vectors).all()
    assert len(set(gv.genes)) == len(gv.genes)
    assert all(g and not any(ch.isspace() for ch in g) for g in gv.genes)
    assert isinstance(gv.metadata, dict)
    expected = _word2vec_reference(raw, dtype)
    assert expected is not None, f"load_vectors accepted {path.name}, which the reference rejects: {raw[:400]!r}"
    genes, vectors = expected
    assert gv.genes == genes
    np.testing.assert_array_equal(gv.vectors, vectors)


def _check_vector_file(workdir: Path, raw: bytes, sidecar: bytes | None, dtype, gz: bool = False) -> None:
    """Write ``raw`` (and ``sidecar`` as its ``.json``, if given) to a fresh file, load it, check the outcome.

    ``dtype`` is the dtype the vectors must have; None accepts either float32 or float64 (as the
    sidecar says). Both files are removed afterwards.
    """
    path = _fresh(workdir, ".txt.gz" if gz else ".txt")
    path.write_bytes(raw)
    side = Path(str(path) + ".json")
    if sidecar is not None:
        side.write_bytes(sidecar)
    try:
        gv = _outcome(lambda: load_vectors(path), path)
        if gv is not None:
            if dtype is None:
                assert gv.vectors.dtype in (np.float32, np.float64)
            _check_vectors(gv, raw, path, gv.vectors.dtype if dtype is None else dtype)
    finally:
        path.unlink()
        side.unlink(missing_ok=sidecar is None)


# ------------------------------------------------------------------------------------- fuzz tests
@FUZZ
@given(data=st.data())
def test_fuzz_read_counts_gct(gct_bases, workdir, data):
    base = gct_bases[data.draw(st.sampled_from(sorted(gct_bases)), label="source")]
    damaged = _damage(data.draw, base, b"\t")
    raw, gz = _container(data.draw, damaged)
    path = _fresh(workdir, ".gct.gz" if gz else ".gct")
    path.write_bytes(raw)
    base_samples = base.split(b"\n")[2].decode().split("\t")[2:]
    wanted = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(base_samples + ["GTEX-NOT-THERE"]),
                                                     min_size=1, max_size=4, unique=True)), label="samples")
    try:
        if wanted is None:
            df = _outcome(lambda: genevec.read_counts(path), path)
        else:
            df = _outcome(lambda: genevec.io.read_gct(path, samples=wanted), path)
        if df is not None:
            _check_counts_frame(df, raw, path, wanted)
    finally:
        path.unlink()


@FUZZ
@given(data=st.data())
def test_fuzz_read_gct_header(gct_bases, workdir, data):
    base = gct_bases[data.draw(st.sampled_from(sorted(gct_bases)), label="source")]
    raw, gz = _container(data.draw, _damage(data.draw, base[:600], b"\t"))
    path = _fresh(workdir, ".gct.gz" if gz else ".gct")
    path.write_bytes(raw)
    try:
        result = _outcome(lambda: genevec.io.read_gct_header(path), path)
        if result is not None:
            (n_genes, n_samples), samples = result
            assert isinstance(n_genes, int) and isinstance(n_samples, int)
            assert samples and len(set(samples)) == len(samples) and all(samples)
    finally:
        path.unlink()


SIDECAR_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10 ** 20), st.floats(allow_nan=True),
                           st.sampled_from(["float32", "float64", "int8", "float16", "foo", "", "f8", "<f4",
                                            "genevec.GeneVectors", "complex128", "object", "U3"]),
                           st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                    st.integers(), max_size=2))


@FUZZ
@given(data=st.data())
def test_fuzz_load_vectors_sidecar(vector_bases, workdir, data):
    text, sidecar = vector_bases["float64"]
    if data.draw(st.booleans(), label="semantic"):
        doc = json.loads(sidecar)
        key = data.draw(st.sampled_from(["format", "dtype", "n_genes", "dim", "metadata", "extra"]))
        if data.draw(st.booleans()):
            doc[key] = data.draw(SIDECAR_VALUES, label="value")
        else:
            doc.pop(key, None)
        if data.draw(st.integers(0, 9)) == 0:
            doc = data.draw(SIDECAR_VALUES, label="document")
        sidecar = json.dumps(doc).encode()
    else:
        sidecar = _damage(data.draw, sidecar, b" ")
    _check_vector_file(workdir, text, sidecar, None)


FIELD_TEXT = st.one_of(st.sampled_from(TOKENS), st.text(max_size=6).map(lambda s: s.encode("utf-8")),
                      st.integers(-2, 2 ** 70).map(lambda i: str(i).encode()),
                      st.floats().map(lambda f: repr(f).encode()), st.binary(max_size=4))


def _replace_fields(draw, data: bytes, sep: bytes, first_line: int) -> bytes:
    """Replace 1-4 fields (names, symbols, counts, dims, header) with odd tokens."""
    lines = _split_lines(data)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(first_line, len(lines) - 2))  # the last element is the empty tail
        fields = lines[i].split(sep)
        j = draw(st.integers(0, len(fields) - 1))
        fields[j] = draw(FIELD_TEXT)
        lines[i] = sep.join(fields)
    return _join_lines(lines)


@FUZZ
@given(data=st.data())
def test_fuzz_gct_fields(gct_bases, workdir, data):
    base = gct_bases[data.draw(st.sampled_from(sorted(gct_bases)), label="source")]
    raw = _replace_fields(data.draw, base, b"\t", data.draw(st.sampled_from([1, 2, 3]), label="first line"))
    gz = data.draw(st.booleans(), label="gzip")
    raw = gzip.compress(raw, mtime=0) if gz else raw
    path = _fresh(workdir, ".gct.gz" if gz else ".gct")
    path.write_bytes(raw)
    try:
        df = _outcome(lambda: genevec.read_counts(path), path)
        if df is not None:
            _check_counts_frame(df, raw, path)
    finally:
        path.unlink()


@pytest.mark.parametrize("damage", ["bytes and lines", "fields"])
@FUZZ
@given(data=st.data())
def test_fuzz_load_vectors(vector_bases, workdir, damage, data):
    """A word2vec file damaged byte- and line-wise (plain, gzipped or a cut gzip), or field by field."""
    key = data.draw(st.sampled_from(sorted(vector_bases)), label="dtype")
    text, sidecar = vector_bases[key]
    if damage == "fields":
        raw, gz = _replace_fields(data.draw, text, b" ", 0), False
    else:
        raw, gz = _container(data.draw, _damage(data.draw, text, b" "))
    _check_vector_file(workdir, raw, sidecar, np.dtype(key), gz=gz)


def _every_line(data: bytes, edit) -> bytes:
    return _join_lines([edit(k, line) for k, line in enumerate(_split_lines(data))])


NAMED_DAMAGE = {
    "empty file": lambda d: b"",
    "only the version line": lambda d: b"#1.2\n",
    "cut mid-line": lambda d: d[:len(d) // 2],
    "cut after the header": lambda d: b"\n".join(_split_lines(d)[:3]) + b"\n",
    "crlf": lambda d: d.replace(b"\n", b"\r\n"),
    "bom": lambda d: BOM + d,
    "bom and crlf": lambda d: BOM + d.replace(b"\n", b"\r\n"),
    "old mac line ends": lambda d: d.replace(b"\n", b"\r"),
    "header one sample short": lambda d: _every_line(d, lambda k, l: l.rsplit(b"\t", 1)[0] if k == 2 else l),
    "header one sample long": lambda d: _every_line(d, lambda k, l: l + b"\tGTEX-EXTRA" if k == 2 else l),
    "rows one field short": lambda d: _every_line(d, lambda k, l: l.rsplit(b"\t", 1)[0] if k > 2 and l else l),
    "symbol with a space": lambda d: _every_line(d, lambda k, l: l.replace(b"\t", b" X\t", 2).replace(
        b" X\t", b"\t", 1) if k == 4 else l),
    "quoted symbols": lambda d: _every_line(d, lambda k, l: b'"' + l.replace(b"\t", b'"\t"') + b'"'
                                            if k > 2 and l else l),
    "dims line words": lambda d: _every_line(d, lambda k, l: b"many\tgenes" if k == 1 else l),
    "dims line one number": lambda d: _every_line(d, lambda k, l: b"17" if k == 1 else l),
    "dims line wrong": lambda d: _every_line(d, lambda k, l: b"56200\t17382" if k == 1 else l),
    "latin-1 symbol": lambda d: _every_line(d, lambda k, l: l.replace(b"\t", b"\xe9\t", 2).replace(
        b"\xe9\t", b"\t", 1) if k == 5 else l),
    "duplicated gene line": lambda d: _every_line(d, lambda k, l: l + b"\n" + l if k == 6 else l),
    "duplicated header": lambda d: _every_line(d, lambda k, l: l + b"\n" + l if k == 2 else l),
    "removed dims line": lambda d: b"\n".join(line for k, line in enumerate(_split_lines(d)) if k != 1),
    "swapped name and symbol": lambda d: _every_line(d, lambda k, l: b"\t".join(
        [l.split(b"\t")[1], l.split(b"\t")[0]] + l.split(b"\t")[2:]) if k > 2 and b"\t" in l else l),
    "nul bytes": lambda d: d.replace(b"\t0\t", b"\t\x00\t"),
}


@pytest.mark.parametrize("damage", sorted(NAMED_DAMAGE))
@pytest.mark.parametrize("container", ["plain", "gz", "gz truncated"])
def test_named_damage_gives_a_result_or_a_named_error(gct_bases, vector_bases, workdir, damage, container):
    """Every kind of damage the issue lists, on both GCT excerpts and the word2vec file, each container."""
    texts = [(base, ".gct", lambda p: genevec.read_counts(p)) for base in gct_bases.values()]
    texts.append((vector_bases["float32"][0], ".txt", load_vectors))
    for base, suffix, read in texts:
        raw = NAMED_DAMAGE[damage](base)
        if container != "plain":
            raw = gzip.compress(raw, mtime=0)
            raw = raw[:len(raw) - 9] if container == "gz truncated" else raw
        path = _fresh(workdir, suffix + (".gz" if container != "plain" else ""))
        path.write_bytes(raw)
        result = _outcome(lambda: read(path), path)
        if isinstance(result, pd.DataFrame):
            _check_counts_frame(result, raw, path)
        elif result is not None:
            _check_vectors(result, raw, path, np.float32)
        path.unlink()


# ------------------------------------------------------------------------------------- the oracle itself
def test_oracle_accepts_the_undamaged_excerpts(gct_bases, vector_bases, workdir):
    for base in gct_bases.values():
        for raw in (base, gzip.compress(base)):
            path = _fresh(workdir, ".gct")
            path.write_bytes(raw)
            df = _outcome(lambda: genevec.read_counts(path), path)
            _check_counts_frame(df, raw, path)
            assert df.shape == (10, 17)
    for key, (text, sidecar) in vector_bases.items():
        path = _fresh(workdir, ".txt")
        path.write_bytes(text)
        if sidecar is not None:
            Path(str(path) + ".json").write_bytes(sidecar)
        gv = _outcome(lambda: load_vectors(path), path)
        _check_vectors(gv, text, path, np.dtype(key))
        assert len(gv) == 8 and gv.dim == 5


def test_oracle_fails_on_a_foreign_exception(workdir):
    path = _fresh(workdir, ".gct")
    with pytest.raises(pytest.fail.Exception, match="unexpected exception"):
        _outcome(lambda: [][1], path)
    with pytest.raises(pytest.fail.Exception, match="not raised by genevec"):
        _outcome(lambda: int("x"), path)
    with pytest.raises(pytest.fail.Exception, match="does not name the file"):
        _outcome(lambda: (_ for _ in ()).throw(FileFormatError("somewhere else")), path)


# ------------------------------------------------------------------------------------- inputs that once broke a reader
EXCERPT = (
    "#1.2\n2\t3\nName\tDescription\tS1\tS2\tS3\n"
    "ENSG00000223972.4\tDDX11L1\t0\t0\t1\n"
    "ENSG00000227232.4\tWASH7P\t264\t1029\t300\n"
)


def _write(tmp_path, text: str | bytes, name: str = "bad.gct") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("token, shown", [("\u0661\u0662", r"'\u0661\u0662'"), ("\uff11", r"'\uff11'")])
def test_gct_non_ascii_digits_are_named_not_a_raw_numpy_error(tmp_path, token, shown):
    # was: ValueError "could not convert string to float: b'\xd9\xa1\xd9\xa2'" from numpy, no file
    # named (float() accepts Arabic-Indic and full-width digits, numpy's bytes parser does not)
    path = _write(tmp_path, EXCERPT.replace("\t1029\t", f"\t{token}\t"))
    with pytest.raises(FileFormatError, match=r"bad\.gct, line 5: sample 'S2', gene 'WASH7P': the count "
                                              + shown + r" is not a number \(counts are written with the "
                                              r"ASCII digits 0-9\)"):
        genevec.read_counts(path)


def test_gct_control_character_count_is_named(tmp_path):
    # float() strips '\x1c' as whitespace, numpy does not: the same bare numpy ValueError
    path = _write(tmp_path, EXCERPT.replace("\t300\n", "\t\x1c300\n"))
    with pytest.raises(FileFormatError, match=r"bad\.gct, line 5: sample 'S3', gene 'WASH7P': the count "
                                              r"'\\x1c300' is not a number\."):
        genevec.read_counts(path)


@pytest.mark.parametrize("token", ["9.223372036854776e+18", "99999999999999999999", "9007199254740993"])
def test_gct_count_beyond_2_53_is_refused(tmp_path, token):
    # was: silently cast to int64 (RuntimeWarning "invalid value encountered in cast", and
    # -9223372036854775808 in the result), or rounded to a neighbouring integer
    path = _write(tmp_path, EXCERPT.replace("\t264\t", f"\t{token}\t"))
    with pytest.raises(CountsError, match=r"bad\.gct, line 5: sample 'S1', gene 'WASH7P': the count \S+ is "
                                          r"2\*\*53 \(9,007,199,254,740,992\) or more, too large"):
        genevec.read_counts(path)
    with pytest.raises(CountsError, match=r"2\*\*53 \(9,007,199,254,740,992\) or more"):
        genevec.read_counts(path, allow_non_integer=True)


def test_gct_largest_exact_count_still_reads(tmp_path):
    path = _write(tmp_path, EXCERPT.replace("\t264\t", "\t9007199254740991\t"))
    assert genevec.read_counts(path)["WASH7P"].tolist() == [2 ** 53 - 1, 1029, 300]


def test_table_count_beyond_2_53_is_refused(tmp_path):
    path = _write(tmp_path, "gene,S1,S2\nTP53,5,1e30\n", name="bad.csv")
    with pytest.raises(CountsError, match=r"bad\.csv, line 2: sample 'S2', gene 'TP53': the count 1e\+30 is "
                                          r"2\*\*53 \(9,007,199,254,740,992\) or more"):
        genevec.read_counts(path, genes_as="rows")


@pytest.mark.parametrize("line, shown", [("\tDDX11L1\t0\t0\t1", r" \(symbol 'DDX11L1'\)"), (" \t\t0\t0\t1", "")])
def test_gct_empty_name_is_refused(tmp_path, line, shown):
    # was: read, giving a gene labelled '' (ensembl mode, or no symbol) that no later step accepts
    path = _write(tmp_path, EXCERPT.replace("ENSG00000223972.4\tDDX11L1\t0\t0\t1", line))
    with pytest.raises(FileFormatError, match=r"bad\.gct, line 4: the Name field \(column 1\) is empty"
                                              + shown + r"\. Every gene line starts with the gene's ID"):
        genevec.read_counts(path)


def _saved_vectors(tmp_path) -> Path:
    path = tmp_path / "v.txt"
    GeneVectors(np.eye(2, 3), ["EGFR", "TP53"], metadata={"dim": 3}).save(path)
    return path


@pytest.mark.parametrize("dtype", ["loat64", "int8", 7, None])
def test_sidecar_with_a_bad_dtype_names_the_sidecar(tmp_path, dtype):
    # was: TypeError "data type 'loat64' not understood" from np.dtype (a byte deleted in the sidecar),
    # or a ValueError that named no file
    path = _saved_vectors(tmp_path)
    side = Path(str(path) + ".json")
    doc = json.loads(side.read_text())
    doc["dtype"] = dtype
    side.write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match=r"v\.txt\.json: gives the dtype .+; a genevec sidecar says "
                                              r"\"float32\" or \"float64\""):
        load_vectors(path)


@pytest.mark.parametrize("meta, shown", [([1, 2], r"list \(\[1, 2\]\)"), ("x", r"str \('x'\)")])
def test_sidecar_with_non_dict_metadata_names_the_sidecar(tmp_path, meta, shown):
    # was: TypeError "GeneVectors: metadata must be a dict or None, got list" naming no file
    path = _saved_vectors(tmp_path)
    side = Path(str(path) + ".json")
    doc = json.loads(side.read_text())
    doc["metadata"] = meta
    side.write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match=r"v\.txt\.json: holds metadata of type " + shown):
        load_vectors(path)


def test_load_vectors_bad_dtype_argument(tmp_path):
    # was: TypeError from np.dtype for a string numpy does not know
    path = _saved_vectors(tmp_path)
    with pytest.raises(ValueError, match=r"load_vectors\('.*v\.txt'\): dtype must be float32 or float64, "
                                         r"got 'float6'"):
        load_vectors(path, dtype="float6")


@pytest.mark.parametrize("header", ["\u00b2 2", "\u0662 2", "2 \uff12"])
def test_vectors_header_with_non_ascii_digits(tmp_path, header):
    # was: ValueError "invalid literal for int() with base 10: '²'" naming no file ('²'.isdigit() is
    # True); '٢' was read as 2
    path = _write(tmp_path, header + "\nA 1 2\nB 1 2\n", name="v.txt")
    with pytest.raises(FileFormatError, match=r"v\.txt, line 1: expected the word2vec header 'n_genes dim', "
                                              r"found '" + header + "'"):
        load_vectors(path)


def test_vectors_value_with_non_ascii_digits(tmp_path):
    # was: read as 1.0 by float(); a gene symbol may still be any text
    path = _write(tmp_path, "2 2\nA \u0661 2\nB 1 2\n", name="v.txt")
    with pytest.raises(FileFormatError, match=r"v\.txt, line 2: gene 'A', value 1 is '\u0661', which is not a "
                                              r"number"):
        load_vectors(path)
    path = _write(tmp_path, "2 2\nCAF\u00c9 1 2\n\u03b1-actin 3 4\n", name="w.txt")
    assert load_vectors(path).genes == ["CAF\u00c9", "\u03b1-actin"]


@pytest.mark.parametrize("gz", [False, True])
def test_vectors_with_a_byte_order_mark_read(tmp_path, gz):
    # was: FileFormatError "found '\ufeff2 2'" for a file a Windows editor had saved
    data = BOM + b"2 2\r\nA 1 2\r\nB 3 4\r\n"
    path = _write(tmp_path, gzip.compress(data) if gz else data, name="v.txt.gz" if gz else "v.txt")
    gv = load_vectors(path)
    assert gv.genes == ["A", "B"] and gv.vectors.tolist() == [[1, 2], [3, 4]]


def test_sidecar_that_is_a_folder_or_has_a_bom(tmp_path):
    # a folder: was IsADirectoryError from open(); a BOM: was "not valid JSON (Unexpected UTF-8 BOM)"
    path = _saved_vectors(tmp_path)
    side = Path(str(path) + ".json")
    side.write_bytes(BOM + side.read_bytes())
    assert load_vectors(path).metadata == {"dim": 3}
    side.unlink()
    side.mkdir()
    with pytest.raises(FileFormatError, match=r"v\.txt\.json: is a folder where the vectors' JSON sidecar belongs"):
        load_vectors(path)


def test_summing_duplicate_symbols_cannot_wrap_around(tmp_path):
    # was: 1,025 lines of symbol 'Y_RNA' with counts near 2**53 summed to a negative int64 count
    line = "ENSG00000201998.1\tY_RNA\t9007199254740000\t1\n"
    path = _write(tmp_path, "#1.2\n1025\t2\nName\tDescription\tS1\tS2\n" + line * 1025)
    with pytest.raises(CountsError, match=r"bad\.gct: summing the 1,025 genes named 'Y_RNA' could exceed the "
                                          r"int64 range \(largest count 9,007,199,254,740,000\)\. Keep the first"):
        genevec.read_counts(path)
    assert genevec.read_counts(path, duplicates="first")["Y_RNA"].tolist() == [9007199254740000, 1]
    small = _write(tmp_path, "#1.2\n1025\t2\nName\tDescription\tS1\tS2\n" + line.replace("9007199254740000", "7")
                   * 1025, name="small.gct")
    assert genevec.read_counts(small)["Y_RNA"].tolist() == [7 * 1025, 1025]
