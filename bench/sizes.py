"""Figure 5: size of each function's built artifact and of the layer, as `sam package` would upload them.

Each `.aws-sam/build/<LogicalId>` folder is zipped in memory (deflate, level 6, as the zip `sam package`
makes), without `__pycache__` folders and `.pyc` files: `sam build` does not produce them (they appear
when the build folders are run locally). The budget applies to the zip; the sum of file sizes is shown too.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from bench import BUILD_DIR, REPO, Figure

FUNCTION_BUDGET = 100 * 1000  # bytes: "≤ 100 KB"
LAYER_BUDGET = 5 * 1000 * 1000  # bytes: "≤ 5 MB"
# The verifier's own layer carries pyHanko with its binary wheels (cryptography, lxml, aiohttp): 14.6 MB
# zipped as pinned, against Lambda's 50 MB. Only the verifier loads it.
LAYER_BUDGETS = {"VerificationLayer": 16 * 1000 * 1000}


def _files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def zipped_size(folder: Path) -> tuple[int, int, int]:
    """(zip bytes, sum of file bytes, file count) of `folder`."""
    files = _files(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.tell(), sum(path.stat().st_size for path in files), len(files)


def run(small: bool = False) -> list[Figure]:
    from local.template import load_template

    template = load_template(REPO / "template.yaml")
    layers = [
        lid for lid, res in template.resources.items() if res.get("Type") == "AWS::Serverless::LayerVersion"
    ]
    figures = []
    for logical_id in [*template.functions, *layers]:
        folder = BUILD_DIR / logical_id
        is_layer = logical_id in layers
        figure = Figure(
            key=f"size.{logical_id}",
            title=f"{'layer' if is_layer else 'function'} {logical_id}, zipped",
            value=None,
            unit="bytes",
            budget=LAYER_BUDGETS.get(logical_id, LAYER_BUDGET) if is_layer else FUNCTION_BUDGET,
            op="<=",
        )
        if folder.is_dir():
            figure.value, raw, count = zipped_size(folder)
            figure.detail = {"unzippedBytes": raw, "files": count}
        else:
            figure.detail = {"error": f"{folder} does not exist: run `make build`"}
        figures.append(figure)
    return figures
