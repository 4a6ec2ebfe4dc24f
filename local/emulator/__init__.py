"""An offline stand-in for the Signicat Sign API v2: OAuth2 tokens, documents, collections, signing
sessions, a signer's page, PAdES packaging signed by a generated test CA, webhook events, and fault
injection. See local/emulator/README.md."""

from local.emulator.app import create_app
from local.emulator.config import EmulatorConfig, Faults
from local.emulator.context import emulator_of
from local.emulator.server import EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorServer", "Faults", "create_app", "emulator_of"]
