"""Pod logs: `GET /api/v1/namespaces/N/pods/P/log` (`kubectl logs`), plain text
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-read-log-of-the-specified-pod:
`container`, `tailLines`, `follow`, `previous`, `timestamps`, `limitBytes`, `sinceSeconds`).

Containers do not run here, so a container's log is what its program prints at the point
the pod has reached: a vLLM container (`vllm serve` or `vllm.entrypoints.openai.api_server`)
prints vLLM's own start-up lines, in vLLM's format (`INFO MM-DD hh:mm:ss [file.py:line]`),
as vLLM 0.10/0.11 prints them (the sequence in vllm-project/vllm pull request 24162 and the
"Starting vLLM API server 0 on http://0.0.0.0:PORT", "Available routes are:" lines of
its launcher); ready, it has finished with uvicorn's "Application startup complete.". A
container that crashed shows the error it exited with (the pod's
`lastState.terminated.message`) as the last lines of its previous run. Lines another part
of the sandbox records for a container (`KubeStore.container_logs`) come first.

Refusals as the kubelet's through the API server: a pod not found is 404; an unknown
container or, with several, none named is 400 BadRequest; a container not started yet is
400 "is waiting to start"; `previous` without a previous run is 400.
"""

from __future__ import annotations

import asyncio
import calendar
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.kube.resources import BY_PLURAL
from sandbox.kube.store import KubeError

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

FOLLOW_POLL_SECONDS = 0.5
PODS = BY_PLURAL[("", "v1", "pods")]


def _stamp(at: float) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.gmtime(at))


def _arg(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _is_vllm(container: dict[str, Any]) -> bool:
    words = " ".join([*container.get("command", []), *container.get("args", [])])
    return "vllm" in words or "vllm" in str(container.get("image", ""))


def vllm_startup(container: dict[str, Any], started: float, ready: bool) -> list[str]:
    args = [str(a) for a in [*container.get("command", []), *container.get("args", [])]]
    model = _arg(args, "--model")
    if model is None and "serve" in args and args.index("serve") + 1 < len(args):
        model = args[args.index("serve") + 1]
    model = model or "facebook/opt-125m"  # vLLM's default model
    port = _arg(args, "--port") or "8000"
    t0, t1 = _stamp(started), _stamp(started + 2)
    lines = [
        f"INFO {t0} [__init__.py:216] Automatically detected platform cuda.",
        f"(APIServer pid=1) INFO {t1} [api_server.py:1839] vLLM API server version 0.11.0",
        f"(APIServer pid=1) INFO {t1} [utils.py:233] non-default args: "
        f"{{'model_tag': '{model}', 'port': {port}, 'model': '{model}'}}",
        f"(EngineCore_DP0 pid=256) INFO {t1} [core.py:644] Waiting for init message from "
        "front-end.",
        f"(EngineCore_DP0 pid=256) INFO {t1} [gpu_model_runner.py:2602] Starting to load "
        f"model {model}...",
    ]
    if not ready:
        return lines
    t2 = _stamp(started + 30)
    return [
        *lines,
        f"(EngineCore_DP0 pid=256) INFO {t2} [default_loader.py:267] Loading weights took "
        "3.41 seconds",
        f"(EngineCore_DP0 pid=256) INFO {t2} [gpu_model_runner.py:2653] Model loading took "
        "14.99 GiB and 4.02 seconds",
        f"(EngineCore_DP0 pid=256) INFO {t2} [kv_cache_utils.py:1087] GPU KV cache size: "
        "416,128 tokens",
        f"(EngineCore_DP0 pid=256) INFO {t2} [core.py:210] init engine (profile, create kv "
        "cache, warmup model) took 21.64 seconds",
        f"(APIServer pid=1) INFO {t2} [api_server.py:1634] Supported_tasks: ['generate']",
        f"(APIServer pid=1) INFO {t2} [api_server.py:1912] Starting vLLM API server 0 on "
        f"http://0.0.0.0:{port}",
        f"(APIServer pid=1) INFO {t2} [launcher.py:34] Available routes are:",
        f"(APIServer pid=1) INFO {t2} [launcher.py:42] Route: /health, Methods: GET",
        f"(APIServer pid=1) INFO {t2} [launcher.py:42] Route: /v1/models, Methods: GET",
        f"(APIServer pid=1) INFO {t2} [launcher.py:42] Route: /v1/chat/completions, Methods: POST",
        f"(APIServer pid=1) INFO {t2} [launcher.py:42] Route: /v1/completions, Methods: POST",
        "(APIServer pid=1) INFO:     Started server process [1]",
        "(APIServer pid=1) INFO:     Waiting for application startup.",
        "(APIServer pid=1) INFO:     Application startup complete.",
    ]


def _ts(value: str | None) -> float:
    if not value:
        return time.time()
    return float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))


def _container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    containers = pod["spec"].get("containers") or []
    init = pod["spec"].get("initContainers") or []
    if not name:
        if len(containers) != 1:
            names = " ".join(c["name"] for c in containers)
            extra = " ".join(c["name"] for c in init)
            also = f" or one of the init containers: [{extra}]" if extra else ""
            raise KubeError(
                400,
                "BadRequest",
                f"a container name must be specified for pod {pod['metadata']['name']}, "
                f"choose one of: [{names}]{also}",
            )
        return dict(containers[0])
    for ctr in [*containers, *init]:
        if ctr.get("name") == name:
            return dict(ctr)
    raise KubeError(
        400, "BadRequest", f"container {name} is not valid for pod {pod['metadata']['name']}"
    )


def _status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    # The sandbox keeps the first container's status; a sidecar runs as long as the pod.
    return next((s for s in statuses if s.get("name") == name), statuses[0] if statuses else {})


def lines_of(store: KubeStore, pod: dict[str, Any], name: str, previous: bool) -> list[str]:
    container = _container(pod, name)
    status = _status(pod, container["name"])
    state = status.get("state") or {}
    pod_name = pod["metadata"]["name"]
    if previous:
        terminated = (status.get("lastState") or {}).get("terminated")
        if not terminated:
            raise KubeError(
                400,
                "BadRequest",
                f'previous terminated container "{container["name"]}" in pod "{pod_name}" '
                "not found",
            )
        return _crash_lines(container, terminated)
    if not state.get("running") and not (status.get("lastState") or {}).get("terminated"):
        reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
        raise KubeError(
            400,
            "BadRequest",
            f'container "{container["name"]}" in pod "{pod_name}" is waiting to start: {reason}',
        )
    key = (pod["metadata"].get("uid", ""), container["name"])
    # (a store restored from a state file written before this field existed has none)
    recorded = list(getattr(store, "container_logs", {}).get(key, []))
    started = _ts((state.get("running") or {}).get("startedAt"))
    if not _is_vllm(container):
        return recorded
    if state.get("running"):
        return recorded + vllm_startup(container, started, bool(status.get("ready")))
    terminated = (status.get("lastState") or {}).get("terminated") or {}
    return recorded + _crash_lines(container, terminated)


def _crash_lines(container: dict[str, Any], terminated: dict[str, Any]) -> list[str]:
    started = _ts(terminated.get("startedAt"))
    lines = vllm_startup(container, started, ready=False) if _is_vllm(container) else []
    message = str(terminated.get("message") or terminated.get("reason") or "Error")
    return lines + message.splitlines()


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise KubeError(400, "BadRequest", f'invalid value for {name}: "{value}"') from None
    if number < 0:
        raise KubeError(422, "Invalid", f"{name}: Invalid value: {number}: must be >= 0")
    return number


def _select(request: web.Request, lines: list[str]) -> bytes:
    tail = _int(request, "tailLines")
    if tail is not None:
        lines = lines[-tail:] if tail else []
    text = "".join(line + "\n" for line in lines).encode()
    limit = _int(request, "limitBytes")
    return text[:limit] if limit is not None else text


async def serve(request: web.Request, store: KubeStore, pod: dict[str, Any]) -> web.StreamResponse:
    name = request.query.get("container", "")
    previous = request.query.get("previous", "") == "true"
    body = _select(request, lines_of(store, pod, name, previous))
    if request.query.get("follow", "") != "true":
        return web.Response(body=body, content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    await response.write(body)
    sent = lines_of(store, pod, name, previous)
    meta = pod["metadata"]
    try:
        # Followed until the pod goes (or the client hangs up), as the kubelet streams it.
        while store.find(PODS, meta.get("namespace"), meta["name"]) is pod:
            if request.transport is None or request.transport.is_closing():
                break
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
            store.settle()
            try:
                now = lines_of(store, pod, name, previous)
            except KubeError:
                continue
            if now[: len(sent)] == sent and len(now) > len(sent):
                await response.write("".join(line + "\n" for line in now[len(sent) :]).encode())
            sent = now
        await response.write_eof()
    except ConnectionResetError:
        pass
    return response
