"""Installs CPython 3.13's os.timerfd_* API into ``os`` on interpreters that lack it."""

import os

from tfd import _tfd

# What CPython 3.13 adds to os for timer file descriptors.
NAMES = (
    "timerfd_create",
    "timerfd_settime",
    "timerfd_settime_ns",
    "timerfd_gettime",
    "timerfd_gettime_ns",
    "TFD_NONBLOCK",
    "TFD_CLOEXEC",
    "TFD_TIMER_ABSTIME",
    "TFD_TIMER_CANCEL_ON_SET",
)


def install():
    """Add tfd's timerfd functions and constants to ``os`` where ``os`` does not have them.

    A no-op on CPython 3.13+, whose ``os`` already has them (the native ones are kept).
    Returns the names it added.
    """
    added = []
    for name in NAMES:
        if not hasattr(os, name):
            setattr(os, name, getattr(_tfd, name))
            added.append(name)
    if added and "timerfd_create" in added:
        # os.__all__ lists the public names; `from os import *` should see the new ones.
        all_names = getattr(os, "__all__", None)
        if isinstance(all_names, list):
            all_names.extend(n for n in added if n not in all_names)
    return added
