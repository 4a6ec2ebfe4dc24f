"""A signing helper for the stand-in sandbox, speaking the protocol of tests/contract/signing.py.

`python -m tests.contract_plumbing.fake_signer LOG [ACTION...]`: reads the request on standard input, appends
it to LOG (one JSON line), and does the actions it is given (default: sign) at the host of the signatureUrl,
through the emulator behind the stand-in; any other action exits 77, as a helper that cannot do it must.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

import requests

CANNOT = 77


def main(argv: list[str]) -> int:
    log, actions = argv[0], argv[1:] or ["sign"]
    request = json.load(sys.stdin)
    with open(log, "a") as out:
        out.write(json.dumps(request) + "\n")
    if request["action"] not in actions:
        print(f"this helper does only {', '.join(actions)}", file=sys.stderr)
        return CANNOT
    page = urlsplit(request["signatureUrl"])
    answer = requests.post(
        f"{page.scheme}://{page.netloc}/_emulator/signing-sessions/{request['sessionId']}/{request['action']}",
        timeout=30,
    )
    if not answer.ok:
        print(f"{answer.status_code} {answer.text[:300]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
