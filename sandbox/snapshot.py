"""A deployed sandbox, kept and put back: deploying the synthesized stack takes seconds; putting it back, a fraction.

``take()`` copies the state of every moto backend in use (each service, account and region); ``put_back(snapshot)``
puts a copy of it into the backends of a freshly started moto. References between backends' models (a state
machine's role, a stack's resources) stay references, and a reference to a backend itself lands on the live one.

The sandbox uses it for the test suites (tests deploy once per module and start each test from the deployed stack,
``Sandbox(..., deployed=...)``): a world put back this way is the world a new deploy would make, up to the ids and
times that moto draws anew on every deploy anyway.
"""

import copy
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


@dataclass
class Snapshot:
    backends: list[tuple[BackendDict, str, str, BaseBackend]] = field(default_factory=list)  # (of, account, region)
    extra: dict[str, Any] = field(default_factory=dict)  # what the sandbox keeps beside moto (keys, deployments)


def _in_use() -> list[tuple[BackendDict, str, str, BaseBackend]]:
    return [
        (backends, account, region, backend)
        for backends in list(BackendDict._instances)  # type: ignore[misc]
        for account, by_region in list(backends.items())
        for region, backend in list(by_region.items())
    ]


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def _copy_defaultdict(value: defaultdict, memo: dict) -> defaultdict:
    """moto's defaultdicts with an __init__ of their own (ssm's ParameterDict) cannot be rebuilt the way
    defaultdict pickles itself (``cls(default_factory)``)."""
    out = type(value).__new__(type(value))
    defaultdict.__init__(out, value.default_factory)
    memo[id(value)] = out
    out.__dict__.update(copy.deepcopy(value.__dict__, memo))
    for key, item in value.items():
        out[copy.deepcopy(key, memo)] = copy.deepcopy(item, memo)
    return out


def _copy(value: Any, memo: dict) -> Any:
    """A deep copy in which locks and conditions are new ones (a lock cannot be copied, and a copy must not share
    one)."""
    special: dict[type, Any] = {t: (lambda lock, _memo, _t=t: _t()) for t in _LOCK_TYPES}
    special[threading.Condition] = lambda condition, _memo: threading.Condition()
    special.update({t: _copy_defaultdict for t in _subclasses(defaultdict)})
    saved = {t: copy._deepcopy_dispatch.get(t) for t in special}  # type: ignore[attr-defined]
    copy._deepcopy_dispatch.update(special)  # type: ignore[attr-defined]
    try:
        return copy.deepcopy(value, memo)
    finally:
        for t, fn in saved.items():  # as it was
            if fn is None:
                copy._deepcopy_dispatch.pop(t, None)  # type: ignore[attr-defined]
            else:
                copy._deepcopy_dispatch[t] = fn  # type: ignore[attr-defined]


def take(**extra: Any) -> Snapshot:
    """The state of every backend in use now (moto must be started), and ``extra`` beside it, copied."""
    live = _in_use()
    memo: dict = {id(backends): backends for backends, *_ in live}  # the backend dicts themselves are not copied
    copied = _copy([backend for *_, backend in live], memo)
    return Snapshot(backends=[(b, a, r, c) for (b, a, r, _), c in zip(live, copied, strict=True)], extra=_copy(extra, memo))


def put_back(snapshot: Snapshot) -> dict[str, Any]:
    """Into a freshly started moto: every backend of the snapshot gets a copy of its state. Returns a copy of
    ``extra``."""
    memo: dict = {}
    targets = []
    for backends, account, region, saved in snapshot.backends:
        live = backends[account][region]
        memo[id(saved)] = live
        memo[id(backends)] = backends
        targets.append((saved, live))
    for saved, live in targets:
        state = _copy(saved.__dict__, memo)
        live.__dict__.clear()
        live.__dict__.update(state)
    return _copy(snapshot.extra, memo)
