"""Exceptions the registry raises for expected failures (no traceback in the CLI)."""


class RegistryError(Exception):
    "The registry could not do what was asked"
