"""Errors the user can fix, kept apart from bugs so the CLI can answer them in one line."""


class InputError(Exception):
    """Bad usage or bad input: the CLI prints the message on one line and exits with code 2."""
