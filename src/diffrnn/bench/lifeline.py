"""Unit processes die with the `diffrnn compare` that started them, even after a `kill -9`.

The runner starts a fork server (its child), which forks one process per unit (the fork server's
children). A killed runner runs no clean-up, so on Linux each of them asks the kernel for
SIGKILL when its parent dies (`prctl(PR_SET_PDEATHSIG)`): the fork server dies with the runner,
and a unit with the fork server. Without it an orphaned unit trains out its budget and writes a
result that the resumed run deletes. Elsewhere the runner's own clean-up (on SIGTERM, Ctrl-C or
an error) is what stops them.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

from diffrnn.fileio import alive

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>."""


def die_with_parent(watched_pid: int | None = None) -> bool:
    """Have the kernel SIGKILL this process when its parent dies (Linux only).

    Args:
        watched_pid: a process this one must not outlive: if it has already died (before the
            request could take effect), this process exits at once.

    Returns:
        Whether the request was made (False off Linux or without a usable libc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        made = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError) as exc:
        logger.warning("cannot ask to die with the parent process: %r", exc)
        return False
    if watched_pid is not None and not alive(watched_pid):
        os._exit(1)
    return made
