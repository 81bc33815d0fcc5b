"""Everything the sandbox holds in memory, and the clock that settles it."""

from __future__ import annotations

import copy
import time

from sandbox.act_as import ProjectSetup
from sandbox.artifact_registry import Registry
from sandbox.auth import TokenIssuer
from sandbox.cloud_build import BuildStore
from sandbox.config import Config
from sandbox.container import ContainerStore
from sandbox.faults import FaultStore
from sandbox.gke_control_plane import ControlPlanes
from sandbox.iam_admin import AccountStore
from sandbox.iam_sa_policy import AccountPolicies
from sandbox.operations import OperationStore
from sandbox.requestlog import RequestLog
from sandbox.run_instances import RunInstances
from sandbox.run_store import RunStore
from sandbox.secret_manager import SecretStore
from sandbox.storage import StorageStore


class State:
    def __init__(self, config: Config) -> None:
        self._defaults = copy.deepcopy(config)
        self.config = config
        # Issued credentials survive a reset: clients cache them across tests.
        self.tokens = TokenIssuer(config.service_account)
        self.base_url = ""
        self.operations = OperationStore()
        self.faults = FaultStore()
        self.log = RequestLog()
        self.registry = Registry()
        self.builds = BuildStore()
        self.run = RunStore()
        self.run_instances = RunInstances()
        self.secrets = SecretStore()
        self.accounts = AccountStore()
        self.account_policies = AccountPolicies()
        self.storage = StorageStore()
        self.setup = ProjectSetup()
        self.setup.reset(config)
        self.container = ContainerStore()
        self.control_planes = ControlPlanes(self)

    def reset(self) -> None:
        for name in self._defaults.TUNABLE:
            setattr(self.config, name, getattr(self._defaults, name))
        self.operations.clear()
        self.faults.clear()
        self.log.clear()
        self.registry.clear()
        self.builds.clear()
        self.run.clear()
        self.run_instances.clear()
        self.secrets.clear()
        self.accounts.clear()
        self.account_policies.clear()
        self.storage.clear()
        self.setup.reset(self.config)
        self.container.clear()
        self.control_planes.clear()

    def advance(self) -> None:
        """Settle everything whose time has come; called before serving any request."""
        self.operations.advance(time.time())

    @property
    def host_port(self) -> str:
        return self.base_url.split("://", 1)[1]
