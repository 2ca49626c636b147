"""The one base of every error a goldsmith user may see.

Each domain error (a database that cannot be opened, a file that cannot be imported, a run
name that is taken...) subclasses :class:`GoldsmithError` and carries a message written for
the user. The command line turns any of them into one ``error:`` line and an exit code in a
single handler (``tui/cli/base.py``), so no code path can end in a traceback. It lives here,
in the bottom layer, so that ``storage``, ``extraction`` and ``tui`` can all subclass it.
"""

from __future__ import annotations


class GoldsmithError(Exception):
    """A problem the user can act on; ``str(error)`` is the message to show them."""
