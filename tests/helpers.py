"""Small notebooks for the service tests, and reading their outputs."""

from __future__ import annotations

import json
from pathlib import Path


def notebook(path: Path, *sources: str, params: str | None = None) -> Path:
    cells = []
    if params is not None:
        cells.append({"cell_type": "code", "execution_count": None, "id": "params", "metadata": {"tags": ["parameters"]},
                      "outputs": [], "source": params})
    for i, source in enumerate(sources):
        cells.append({"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                      "source": source})
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def stdout_of(output_uri: str) -> str:
    nb = json.loads(Path(output_uri).read_text())
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stdout")
