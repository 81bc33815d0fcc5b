"""Everything the sandbox holds in memory, and the clock that settles it."""

from __future__ import annotations

import copy
import time

from sandbox.artifact_registry.api import Registry
from sandbox.cloud_build.api import BuildStore
from sandbox.cloud_run.instances import RunInstances
from sandbox.cloud_run.store import RunStore
from sandbox.core.auth import TokenIssuer
from sandbox.core.config import Config
from sandbox.core.faults import FaultStore
from sandbox.core.operations import OperationStore
from sandbox.core.requestlog import RequestLog
from sandbox.gke.clusters import ContainerStore
from sandbox.iam.account_policy import AccountPolicies
from sandbox.iam.act_as import ProjectSetup
from sandbox.iam.service_accounts import AccountStore
from sandbox.kube.control_plane import ControlPlanes
from sandbox.secret_manager.api import SecretStore
from sandbox.storage.api import StorageStore


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
