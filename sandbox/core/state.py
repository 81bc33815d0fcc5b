"""Everything the sandbox holds in memory, and the clock that settles it.

What every API shares lives here (config, issued credentials, operations, faults, the
request log, the project's setup, the sandbox clock). Each stood-in API keeps its own
store (Cloud Run's services, GKE's clusters, ...), which sandbox/server/app.py adds and
an API's code reaches by its type: `state.store(RunStore)`. So core names no API, and an
API package imports the stores of the packages below it only.
"""

from __future__ import annotations

import copy
import time
from typing import Protocol, TypeVar, cast

from sandbox.core.auth import TokenIssuer
from sandbox.core.clock import Clock
from sandbox.core.config import Config
from sandbox.core.faults import FaultStore
from sandbox.core.operations import OperationStore
from sandbox.core.project import ProjectSetup
from sandbox.core.requestlog import RequestLog


class Store(Protocol):
    """One API's memory: emptied by /_sandbox/reset."""

    def clear(self) -> None: ...


S = TypeVar("S", bound=Store)


class State:
    def __init__(self, config: Config) -> None:
        self._defaults = copy.deepcopy(config)
        self.config = config
        # Issued credentials survive a reset: clients cache them across tests.
        self.tokens = TokenIssuer(config.service_account)
        self.base_url = ""
        self.clock = Clock()
        self.operations = OperationStore()
        self.faults = FaultStore()
        self.log = RequestLog()
        self.setup = ProjectSetup()
        self.setup.reset(config)
        self._stores: dict[type[Store], Store] = {}

    def add(self, store: Store) -> None:
        """Hold `store`, the one of its type; reset() empties the stores in this order."""
        self._stores[type(store)] = store

    def store(self, kind: type[S]) -> S:
        found = self._stores.get(kind)
        if found is None:
            raise LookupError(f"the state holds no {kind.__name__} (sandbox/server/app.py)")
        return cast(S, found)

    def stores(self) -> list[Store]:
        """Every API's store, in the order they were added."""
        return list(self._stores.values())

    def reset(self) -> None:
        for name in self._defaults.TUNABLE:
            setattr(self.config, name, getattr(self._defaults, name))
        self.operations.clear()
        self.faults.clear()
        self.log.clear()
        self.clock.reset()
        self.setup.reset(self.config)
        for store in self._stores.values():
            store.clear()

    def advance(self) -> None:
        """Settle everything whose time has come; called before serving any request."""
        self.operations.advance(time.time())

    @property
    def host_port(self) -> str:
        return self.base_url.split("://", 1)[1]
