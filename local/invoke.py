"""One function of the running offline stack (`make up`), once, with an event: `make invoke FUNCTION=... EVENT=...`.

    python -m local.invoke WebhookFunction events/webhook_package_completed.json [--stack out/stack.json]

Prints the function's answer as JSON and exits 0; a function error is printed too, and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import requests

from local.rie import REPO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("function", help="the function's logical id in template.yaml, e.g. ApiFunction")
    parser.add_argument(
        "event", type=Path, help="the event, a JSON file (events/ has one per function and route)"
    )
    parser.add_argument("--stack", type=Path, default=REPO / "out" / "stack.json", help="written by make up")
    args = parser.parse_args(argv)
    try:
        stack = json.loads(args.stack.read_text())
        event = json.loads(args.event.read_text())
    except FileNotFoundError as missing:
        print(f"{missing.filename} not found (is `make up` running?)", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"not JSON: {error}", file=sys.stderr)
        return 2
    url = f"{stack['lambdaUrl']}/2015-03-31/functions/{args.function}/invocations"
    try:
        answer = requests.post(url, json=event, timeout=330)
    except requests.ConnectionError:
        print(f"the offline stack of {args.stack} is not running: start it with `make up`", file=sys.stderr)
        return 2
    if answer.status_code != 200:
        print(f"{args.function}: {answer.json().get('message', answer.text)}", file=sys.stderr)
        return 2
    print(json.dumps(answer.json(), indent=2, ensure_ascii=False))
    return 1 if answer.headers.get("X-Amz-Function-Error") else 0


if __name__ == "__main__":
    sys.exit(main())
