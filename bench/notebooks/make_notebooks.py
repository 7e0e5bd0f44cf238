"""Generate the benchmark notebooks into this folder (bench/notebooks/).

    .venv/bin/python bench/notebooks/make_notebooks.py

Writes three nbformat 4.5 notebooks, byte-for-byte reproducible (fixed cell ids, no
timestamps), so the committed .ipynb files only change when this script does:

* trivial.ipynb     2 code cells: ``x = 1`` / ``print(x)``. Measures fixed costs (start-up,
                    kernel launch and shutdown, writing the output).
* medium.ipynb      20 cells of light pure-Python work (~10-30 ms each), some printing.
                    Measures per-cell overhead on top of real (but small) work.
* big_output.ipynb  ~5 MB of stream text (``print`` lines, 5 cells x 10,000 lines of 100
                    characters) and one ~1 MB PNG of incompressible, seeded random pixels,
                    built with zlib/struct in the kernel and shown with
                    ``IPython.display.Image(data=...)`` (base64 in the notebook: ~1.3 MB).
                    Measures the cost of receiving, holding and writing large outputs.

Only the standard library is used, so any Python 3 can run it.
"""

import json
import os
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}


def _source_lines(src):
    src = textwrap.dedent(src).strip("\n")
    lines = src.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def notebook(name, cells):
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"{name}-{i:02d}",
                "metadata": {},
                "outputs": [],
                "source": _source_lines(src),
            }
            for i, src in enumerate(cells)
        ],
        "metadata": {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


TRIVIAL = ["x = 1", "print(x)"]

# Each cell is light pure-Python work, calibrated to ~10-30 ms on a current x86-64 core.
MEDIUM = [
    """
    data = list(range(150_000))
    total = sum(v * v for v in data)
    print("sum of squares:", total)
    """,
    """
    words = [f"word{i:05d}" for i in range(60_000)]
    text = " ".join(words)
    """,
    """
    upper = text.upper()
    tokens = upper.split()
    n_ones = sum(t.count("1") for t in tokens)
    print("ones:", n_ones)
    """,
    """
    last_digit = {}
    for w in words:
        last_digit[w[-1]] = last_digit.get(w[-1], 0) + 1
    """,
    """
    squares = {i: i * i for i in range(120_000)}
    print(len(squares), squares[999])
    """,
    """
    evens = [v for v in data if v % 2 == 0]
    odds = [v for v in data if v % 2]
    mod7 = [v % 7 for v in data]
    """,
    """
    rev = [w[::-1] for w in words]
    rev.sort()
    print(rev[:3])
    """,
    """
    def fib(n):
        a, b = 0, 1
        for _ in range(n):
            a, b = b, a + b
        return a
    fibs = [fib(n) for n in range(0, 1200, 2)]
    """,
    """
    primes = []
    for n in range(2, 30_000):
        for p in primes:
            if p * p > n:
                primes.append(n)
                break
            if n % p == 0:
                break
        else:
            primes.append(n)
    print("primes:", len(primes))
    """,
    """
    pairs = [(w, len(w) + i % 7) for i, w in enumerate(words[:30_000])]
    pairs.sort(key=lambda t: (t[1], t[0]))
    """,
    """
    csv_lines = [f"{i},{i * 3},{i % 13},name{i}" for i in range(20_000)]
    rows = [line.split(",") for line in csv_lines]
    """,
    """
    col_sum = sum(int(r[1]) for r in rows)
    col_max = max(int(r[0]) * int(r[2]) for r in rows)
    print("col sum:", col_sum, "max:", col_max)
    """,
    """
    groups = {}
    for r in rows:
        groups.setdefault(r[2], []).append(int(r[0]))
    means = {k: sum(v) / len(v) for k, v in groups.items()}
    """,
    """
    matrix = [[(i * j) % 17 for j in range(400)] for i in range(400)]
    trace = sum(matrix[i][i] for i in range(400))
    print("trace:", trace)
    """,
    """
    transposed = [list(col) for col in zip(*matrix)]
    flat = [v for row in transposed for v in row]
    row_sums = [sum(row) for row in transposed]
    row_max = [max(row) for row in matrix]
    diffs = [a - b for a, b in zip(flat, flat[1:])]
    """,
    """
    replaced = text.replace("word", "w").replace("0", "o")
    parts = replaced.split(" ")
    titled = "-".join(p.title() for p in parts)
    """,
    """
    counts = {}
    for ch in replaced[:150_000]:
        counts[ch] = counts.get(ch, 0) + 1
    print(sorted(counts.items())[:5])
    """,
    """
    nested = {f"k{i}": {"a": i, "b": [i, i + 1], "c": str(i)} for i in range(12_000)}
    """,
    """
    b_total = sum(v["b"][1] for v in nested.values())
    keys = sorted(nested, key=lambda k: -nested[k]["a"])[:5]
    c_len = sum(len(v["c"]) for v in nested.values())
    """,
    """
    weighted = sum(len(w) * i for i, w in enumerate(words))
    summary = {"weighted": weighted, "total": total, "primes": len(primes), "b_total": b_total, "keys": keys}
    print(summary)
    """,
]

LINES_PER_CELL = 10_000
STREAM_CELLS = 5
BIG_OUTPUT = [
    f"""
    pad = "abcdefghijklmnopqrstuvwxyz0123456789" * 3
    for i in range({LINES_PER_CELL}):
        print(f"cell {c} line {{i:06d}} " + pad[(i % 36):(i % 36) + 80])
    """
    for c in range(STREAM_CELLS)
]
BIG_OUTPUT.insert(
    2,
    """
    import random
    import struct
    import zlib
    from IPython.display import Image, display

    W = H = 577  # 577 * 577 * 3 bytes of random pixels: a ~1 MB PNG (~1.3 MB in base64)
    rng = random.Random(20240601)
    raw = b"".join(b"\\x00" + rng.randbytes(W * 3) for _ in range(H))

    def chunk(tag, data):
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    png = (
        b"\\x89PNG\\r\\n\\x1a\\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )
    print("png bytes:", len(png))
    display(Image(data=png))
    """,
)

NOTEBOOKS = {"trivial": TRIVIAL, "medium": MEDIUM, "big_output": BIG_OUTPUT}


def main():
    for name, cells in NOTEBOOKS.items():
        path = os.path.join(HERE, f"{name}.ipynb")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(notebook(name, cells), f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {os.path.relpath(path)} ({len(cells)} cells)")
    try:  # validate when nbformat is available (it is in the project's venv)
        import nbformat
    except ImportError:
        return 0
    for name in NOTEBOOKS:
        nbformat.validate(nbformat.read(os.path.join(HERE, f"{name}.ipynb"), as_version=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
