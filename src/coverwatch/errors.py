"""The exception hierarchy: every error coverwatch raises on purpose derives from CoverwatchError.

The CLI maps any CoverwatchError to a one-line message and exit code 2 (usage or input error).
"""


class CoverwatchError(Exception):
    """Base of all coverwatch errors; the message is one line a user can act on."""


class InputError(CoverwatchError):
    """A file, argument or target the user gave is malformed or unreadable."""


class TargetError(InputError):
    """A scan target could not be parsed or is outside the declared scope."""


class KnowledgeError(CoverwatchError):
    """A knowledge or profile data file failed validation (names file and field)."""


class StoreError(CoverwatchError):
    """The inventory database could not be opened, read or written."""


class LabError(CoverwatchError):
    """The simulated lab site could not be started."""
