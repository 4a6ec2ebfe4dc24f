"""python -m local.emulator: serve the emulator until SIGTERM or SIGINT.

Prints one line, "signicat-emulator listening on <url>", once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from local.emulator.config import COLLECTION_EVENT_SHAPES, WEBHOOK_AUTH_MODES, EmulatorConfig, Faults
from local.emulator.server import EmulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(prog="python -m local.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--public-base-url", help="base URL signers use (default: the bound URL)")
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", default=defaults.client_secret)
    parser.add_argument("--token-lifetime", type=int, default=defaults.token_lifetime, help="seconds")
    parser.add_argument("--webhook-url", action="append", default=[], help="repeat for several URLs")
    parser.add_argument("--webhook-secret", default="")
    parser.add_argument(
        "--webhook-auth-mode",
        choices=WEBHOOK_AUTH_MODES,
        default=defaults.webhook_auth_mode,
        help="url: no header (the URL carries the secret); hmac: a body signature header; token: the secret",
    )
    parser.add_argument("--webhook-signature-header", default=defaults.webhook_signature_header)
    parser.add_argument("--webhook-token-header", default=defaults.webhook_token_header)
    parser.add_argument("--packaging-delay", type=float, default=defaults.packaging_delay, help="seconds")
    parser.add_argument(
        "--collection-event-shape",
        choices=COLLECTION_EVENT_SHAPES,
        default=defaults.collection_event_shape,
        help="a packaged collection's event: one naming the collection, or one per session",
    )
    parser.add_argument("--event-ttl", type=float, default=defaults.event_ttl, help="seconds to expiresAt")
    parser.add_argument("--account-id", default=defaults.account_id)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--log-requests", action="store_true", help="log each request to stderr")
    parser.add_argument("--faults", type=json.loads, default={}, help='JSON, e.g. {"error_rate": 0.1}')
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_lifetime=args.token_lifetime,
        public_base_url=args.public_base_url,
        webhook_urls=args.webhook_url,
        webhook_secret=args.webhook_secret,
        webhook_auth_mode=args.webhook_auth_mode,
        webhook_signature_header=args.webhook_signature_header,
        webhook_token_header=args.webhook_token_header,
        packaging_delay=args.packaging_delay,
        collection_event_shape=args.collection_event_shape,
        event_ttl=args.event_ttl,
        account_id=args.account_id,
        seed=args.seed,
        faults=Faults(**args.faults),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from(args)
    except (TypeError, ValueError) as error:
        print(f"invalid configuration: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = EmulatorServer(config, port=args.port, log_requests=args.log_requests).start()
    print(f"signicat-emulator listening on {server.url}", flush=True)
    try:
        while not stop.wait(0.5):  # wake now and then so signals are handled promptly
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
