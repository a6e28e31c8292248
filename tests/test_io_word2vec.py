"""word2vec text files (genevec.io.word2vec): exact round trips, gensim both ways, sidecar, every malformed file."""

import gzip
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from genevec import GeneVectors, load_vectors
from genevec.exceptions import FileFormatError
from gensim.models import KeyedVectors  # a test dependency (pyproject [test]); never skipped
from test_similarity import random_vectors, to_gensim


def test_load_vectors_is_one_function_everywhere():
    import genevec
    from genevec import similarity
    from genevec.io import word2vec

    assert genevec.load_vectors is similarity.load_vectors is word2vec.load_vectors


@pytest.mark.parametrize("name", ["g.txt", "g.txt.gz"])
def test_we_read_gensims_file(tmp_path, name):
    gv = random_vectors(n=50, dim=7, seed=7)
    kv = to_gensim(gv)
    path = tmp_path / name
    kv.save_word2vec_format(str(path))
    back = load_vectors(path)
    assert back.genes == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert back.vectors.dtype == np.float32 and back.metadata == {}


@settings(max_examples=25, deadline=None)
@given(V=arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 4)),
                elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))
def test_round_trip_float32_is_exact(tmp_path_factory, V):
    path = tmp_path_factory.mktemp("rt") / "v.txt"
    gv = GeneVectors(V, [f"g{i}" for i in range(V.shape[0])])
    gv.save(path)
    back = load_vectors(path)
    assert back.vectors.dtype == np.float32
    assert np.array_equal(back.vectors.view(np.uint32), gv.vectors.view(np.uint32))  # bit for bit, -0.0 too
    assert not os.path.exists(f"{path}.json")


@settings(max_examples=25, deadline=None)
@given(V=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 4)),
                elements=st.floats(allow_nan=False, allow_infinity=False)))
def test_round_trip_float64_is_exact(tmp_path_factory, V):
    path = tmp_path_factory.mktemp("rt") / "v.txt"
    GeneVectors(V, [f"g{i}" for i in range(V.shape[0])]).save(path)
    back = load_vectors(path)
    assert back.vectors.dtype == np.float64  # from the sidecar
    assert np.array_equal(back.vectors, V)
    with np.errstate(over="ignore"):
        fits = np.isfinite(V.astype(np.float32)).all()
    if fits:
        assert np.array_equal(load_vectors(path, dtype="float32").vectors, V.astype(np.float32))


def test_round_trip_float32_extremes(tmp_path):
    f = np.finfo(np.float32)
    V = np.array([[f.max, -f.max, f.tiny, f.smallest_subnormal], [np.nextafter(np.float32(1), 2), 0.1, -0.0, 1e-40]],
                 dtype=np.float32)
    GeneVectors(V, ["A", "B"]).save(tmp_path / "v.txt")
    assert np.array_equal(load_vectors(tmp_path / "v.txt").vectors.view(np.uint32), V.view(np.uint32))


def test_float32_overflow_message(tmp_path):
    GeneVectors(np.array([[1.0, 2.0], [3.0, -1e300]]), ["A", "B"]).save(tmp_path / "v.txt")
    with pytest.raises(FileFormatError, match=r"v\.txt, line 3: gene 'B', value 2 is -1e\+300, beyond the float32 range\. "
                                              r"Load it with load_vectors\(path, dtype='float64'\)"):
        load_vectors(tmp_path / "v.txt", dtype="float32")


def test_save_format_and_metadata_sidecar(tmp_path):
    V = np.array([[0.5, -1.25], [3.0, 0.1]], dtype=np.float32)
    meta = {"dim": np.int64(2), "x_max": 100.0, "learning_rate": np.float32(0.05), "genes_used": ("A", "B")}
    gv = GeneVectors(V, ["A", "B"], metadata=meta)
    path = tmp_path / "v.txt"
    gv.save(str(path))
    assert path.read_text() == "2 2\nA 0.5 -1.25\nB 3 0.100000001\n"
    side = json.loads((tmp_path / "v.txt.json").read_text())
    assert side["dtype"] == "float32" and side["n_genes"] == 2 and side["dim"] == 2
    assert side["metadata"] == {"dim": 2, "x_max": 100.0, "learning_rate": pytest.approx(0.05),
                                "genes_used": ["A", "B"]}
    back = load_vectors(path)
    assert back.metadata["dim"] == 2 and back.metadata["genes_used"] == ["A", "B"]
    # Saving again without metadata removes the stale sidecar.
    GeneVectors(V, ["A", "B"]).save(path)
    assert not (tmp_path / "v.txt.json").exists() and load_vectors(path).metadata == {}


def test_gz_round_trip(tmp_path):
    gv = random_vectors(n=20, dim=4, dtype=np.float64)
    path = tmp_path / "v.txt.gz"
    gv.save(path)
    with gzip.open(path, "rt") as fh:
        assert fh.readline() == "20 4\n"
    back = load_vectors(path)
    assert np.array_equal(back.vectors, gv.vectors) and back.genes == gv.genes
    assert KeyedVectors.load_word2vec_format(str(path)).index_to_key == gv.genes


def test_save_refuses_whitespace_in_gene(tmp_path):
    gv = GeneVectors(np.ones((2, 2)), ["A", "HLA DRB1"])
    path = tmp_path / "v.txt"
    with pytest.raises(ValueError, match=r"Cannot save gene 'HLA DRB1' \(row 1\) to .*v\.txt: word2vec text separates "
                                         r"fields with whitespace.*Nothing was written\. Rename it first, e\.g\. "
                                         r"GeneVectors\(gv\.vectors, \[g\.replace\(' ', '_'\)"):
        gv.save(path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"Cannot save gene 'A\\tB'"):
        GeneVectors(np.ones((1, 2)), ["A\tB"]).save(path)


def test_save_refuses_non_json_metadata(tmp_path):
    gv = GeneVectors(np.ones((1, 2)), ["A"], metadata={"callback": print})
    with pytest.raises(TypeError, match=r"Cannot save metadata\['callback'\] = <built-in function print> "
                                        r"\(builtin_function_or_method\) to .*v\.txt\.json: it is not JSON data\. "
                                        r"Nothing was written"):
        gv.save(tmp_path / "v.txt")
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_atomically(tmp_path, monkeypatch):
    path = tmp_path / "v.txt"
    random_vectors(n=3).save(path)
    before = path.read_bytes()
    gv = random_vectors(n=3000, seed=1)
    from genevec.io import word2vec

    real = word2vec.atomic_write

    def failing(target, mode="w", **kw):
        cm = real(target, mode, **kw)

        class Boom:
            def __enter__(self):
                fh = cm.__enter__()
                orig = fh.write

                def write(s):
                    orig(s[: len(s) // 2])
                    raise OSError("No space left on device")

                fh.write = write
                return fh

            def __exit__(self, *exc):
                return cm.__exit__(*exc)

        return Boom()

    monkeypatch.setattr(word2vec, "atomic_write", failing)
    with pytest.raises(OSError, match="No space left"):
        gv.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"]


def write(tmp_path, text, name="v.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, match",
    [
        ("", r"v\.txt: the file is empty; expected the word2vec header 'n_genes dim' on line 1"),
        ("2 three\nA 1 2\n", r"v\.txt, line 1: expected the word2vec header 'n_genes dim', found '2 three'; the first "
                             r"line must be two whole numbers, the gene count and the vector length, e\.g\. '25321 100'"),
        ("A 0.1 0.2 0.3\nB 1 2 3\n",
         r"line 1: expected the word2vec header .* found 'A 0\.1 0\.2 0\.3'; this looks like a "
                                     r"GloVe text file without the header: add the line '<number of genes> 3' at the top"),
        ("0 3\n", r"line 1: the header declares 0 genes of length 3; both must be at least 1"),
        ("2 3\nA 1 2 3\nB 1 2\n",
         r"v\.txt, line 3: gene 'B' has 2 values but the header declares dim 3\. Every line must "
                                  r"be the gene and 3 numbers"),
        ("2 3\nA 1 2 3\nHLA DRB1 1 2 3\n", r"line 3: gene 'HLA' has 4 values but the header declares dim 3.*is a gene "
                                           r"symbol split by a space"),
        ("2 3\nA 1 2 3\nB 1 x2 3\n",
         r"v\.txt, line 3: gene 'B', value 2 is 'x2', which is not a number\. Values must be "
                                     r"decimal numbers"),
        ("2 3\nA 1 2 3\nB 1 nan 3\n", r"line 3: gene 'B', value 2 is 'nan'; vectors must be finite"),
        ("3 2\nA 1 2\nB 1 2\nA 3 4\n",
         r"v\.txt, line 4: gene 'A' already appeared on line 2; each gene must appear once\. "
                                       r"Remove or rename one of the two lines"),
        ("3 2\nA 1 2\nB 1 2\n", r"v\.txt, line 3: the file ends after 2 genes but the header declares 3\. The file is "
                                r"truncated \(re-save it\) or the count on line 1 is wrong"),
        ("1 2\nA 1 2\nB 1 2\n",
         r"line 3: the header declares 1 gene but gene 'B' is number 2\. Fix the count on line 1 "
                                r"or remove the extra lines"),
        ("2 2\nA 1 2\n\nB 1 2\n", r"line 3: empty line where gene 2 of 2 was expected\. Remove blank lines"),
    ],
)
def test_malformed_file_messages(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(FileFormatError, match=match):
        load_vectors(path)


def test_trailing_blank_lines_and_crlf_are_fine(tmp_path):
    back = load_vectors(write(tmp_path, "2 2\r\nA 1 2 \r\nB 3 4\r\n\n\n"))
    assert back.genes == ["A", "B"] and back.vectors.tolist() == [[1, 2], [3, 4]]


def test_compression_messages(tmp_path):
    bad = tmp_path / "v.txt.gz"
    bad.write_text("2 2\nA 1 2\nB 3 4\n")  # plain text named .gz
    with pytest.raises(FileFormatError, match=r"v\.txt\.gz: cannot be decompressed .* the name ends in \.gz but the file "
                                              r"is not complete gzip data"):
        load_vectors(bad)
    truncated = tmp_path / "t.txt.gz"
    truncated.write_bytes(gzip.compress(b"2 2\nA 1 2\nB 3 4\n")[:-12])
    with pytest.raises(FileFormatError, match=r"t\.txt\.gz: cannot be decompressed"):
        load_vectors(truncated)
    hidden = tmp_path / "h.txt"
    hidden.write_bytes(gzip.compress(b"2 2\nA 1 2\nB 3 4\n"))
    with pytest.raises(FileFormatError, match=r"h\.txt: is not UTF-8 text .* a gzip file whose name does not end in \.gz\? "
                                              r"Rename it to \*\.gz"):
        load_vectors(hidden)
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"2 2\nA \x00\x00\x80\xff\x00\x00")
    with pytest.raises(FileFormatError, match=r"b\.bin: is not UTF-8 text .* a binary word2vec file\? Convert it with "
                                              r"gensim"):
        load_vectors(binary)


@pytest.mark.parametrize(
    "sidecar, match",
    [
        ('{"format": "genevec.GeneVectors",\n "dtype": }',
         r"v\.txt\.json, line 2: is not valid JSON \(Expecting value, column 11\)\. Fix or delete it"),
        (json.dumps({"format": "genevec.GeneVectors", "dtype": "float32", "n_genes": 3, "dim": 2, "metadata": {}}),
         r"v\.txt\.json: describes 3 genes x 2 dims, but .*v\.txt holds 2 x 2: the sidecar belongs to another file"),
        ("[1, 2]", r"v\.txt\.json: is not a genevec sidecar"),
    ],
)
def test_sidecar_messages(tmp_path, sidecar, match):
    path = write(tmp_path, "2 2\nA 1 2\nB 3 4\n")
    (tmp_path / "v.txt.json").write_text(sidecar)
    with pytest.raises(FileFormatError, match=match):
        load_vectors(path)


def test_missing_file_and_bad_dtype(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No vectors file '.*nope\.txt'\. Write one with GeneVectors\.save"):
        load_vectors(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError, match="is a folder; give the vectors file inside it"):
        load_vectors(tmp_path)
    path = write(tmp_path, "1 1\nA 1\n")
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64, got 'int32'"):
        load_vectors(path, dtype="int32")
