"""``import tfd.backport`` makes code written for CPython 3.13's ``os.timerfd_*`` run unchanged.

On CPython 3.8-3.12 it adds ``os.timerfd_create``, ``os.timerfd_settime``,
``os.timerfd_settime_ns``, ``os.timerfd_gettime``, ``os.timerfd_gettime_ns`` and the four
``os.TFD_*`` constants; on 3.13+ it changes nothing.
"""

from tfd._backport import install

ADDED = install()
