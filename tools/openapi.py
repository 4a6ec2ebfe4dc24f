"""Print the signing API's OpenAPI document, generated from the API function's code (`make openapi`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate() -> str:
    # The API reads its settings on first use, not at import: the document needs no environment.
    for folder in (ROOT / "layers" / "core", ROOT):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    from tests.functions import load_handler

    api = load_handler("api")
    schema = api.app.get_openapi_json_schema(
        title="Signicat signing API",
        version="1.0.0",
        summary="Start signings with the Signicat Sign API v2 and read their outcome",
    )
    return json.dumps(json.loads(schema), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate())
