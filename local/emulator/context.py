"""Access to the Emulator owned by the current Flask app."""

from __future__ import annotations

from flask import Flask, current_app

from local.emulator.core import Emulator

EXTENSION = "signicat_emulator"


def emulator() -> Emulator:
    return current_app.extensions[EXTENSION]


def emulator_of(app: Flask) -> Emulator:
    return app.extensions[EXTENSION]
