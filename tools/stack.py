"""Start and stop the local stand-ins: Azurite (blob + queue) and the Cosmos stand-in.

Used by `ferry up`, the demo and the test fixtures alike. Azurite serves one account per
region (`ferryeu`, `ferryus`) so an EU org's blobs and messages cannot land in the US
account. The Cosmos stand-in runs through tools/cosmos/launcher.js, which fixes the
stock CLI's defects (keep-alive, 404 on a missing item, partition-scoped queries).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"

# Azurite's well-known development key; it protects nothing and is only for local stand-ins.
DEV_STORAGE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# The Cosmos emulator's published key; the stand-in accepts any base64 credential.
DEV_COSMOS_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
REGION_ACCOUNTS = {"eu": "ferryeu", "us": "ferryus"}


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports: all sockets stay bound until every port is known, so the
    kernel cannot hand the same port out twice."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def storage_connection(account: str, blob_port: int, queue_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={DEV_STORAGE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob_port}/{account};"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/{account};"
    )


@dataclass
class LocalStack:
    """The running stand-ins and the settings that reach them."""

    data_dir: Path
    blob_port: int
    queue_port: int
    cosmos_port: int
    procs: list[subprocess.Popen] = field(default_factory=list)

    def region_values(self, region: str) -> dict[str, str]:
        sfx = region.upper()
        return {
            f"FERRY_COSMOS_ENDPOINT_{sfx}": f"https://127.0.0.1:{self.cosmos_port}",
            f"FERRY_COSMOS_DATABASE_{sfx}": f"ferry-{region}",
            f"FERRY_COSMOS_KEY_{sfx}": DEV_COSMOS_KEY,
            f"FERRY_STORAGE_CONNECTION_{sfx}": storage_connection(
                REGION_ACCOUNTS[region], self.blob_port, self.queue_port
            ),
        }

    def values(self) -> dict[str, str]:
        """Settings (as in local.settings.json `Values`) for every region of this stack."""
        values: dict[str, str] = {
            "FERRY_ENVIRONMENT": "local",
            "FERRY_REGIONS": "eu,us",
            "FERRY_STAMP_REGION": "eu",
            "FERRY_LOCAL_DATA_DIR": str(self.data_dir),
            "AzureWebJobsStorage": storage_connection(REGION_ACCOUNTS["eu"], self.blob_port, self.queue_port),
        }
        for region in REGION_ACCOUNTS:
            values.update(self.region_values(region))
        return values

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def _require_node_tools() -> None:
    if not (NODE_BIN / "azurite").exists() or not (ROOT / "node_modules" / "@vercel" / "cosmosdb-server").exists():
        raise RuntimeError("npm dev tools are missing: run `npm ci` in the project root (the set-up does)")


def _wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}; see {path}")
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{needle!r} not seen in {path} after {timeout}s")


def start_stack(
    data_dir: Path,
    *,
    fresh: bool = False,
    blob_port: int | None = None,
    queue_port: int | None = None,
    table_port: int | None = None,
    cosmos_port: int | None = None,
    quiet: bool = True,
    persist_cosmos: bool = False,
) -> LocalStack:
    """Start Azurite and the Cosmos stand-in; ports default to free ones. With
    `persist_cosmos` the Cosmos data is kept in `data_dir/cosmos.json` across restarts."""
    _require_node_tools()
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    (data_dir / "azurite").mkdir(parents=True, exist_ok=True)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    spare = free_ports(4)
    stack = LocalStack(data_dir, blob_port or spare[0], queue_port or spare[1], cosmos_port or spare[2])
    env = {
        **os.environ,
        "AZURITE_ACCOUNTS": ";".join(f"{a}:{DEV_STORAGE_KEY}" for a in REGION_ACCOUNTS.values()),
    }
    azurite_cmd = [
        # Azurite through Ferry's launcher (tools/azurite/launcher.js): the stock server with
        # LokiJS lookups and deletes that no longer grow with the number of blobs/messages.
        "node",
        str(ROOT / "tools" / "azurite" / "launcher.js"),
        "--blobHost",
        "127.0.0.1",
        "--queueHost",
        "127.0.0.1",
        "--tableHost",
        "127.0.0.1",
        "--blobPort",
        str(stack.blob_port),
        "--queuePort",
        str(stack.queue_port),
        "--tablePort",
        str(table_port or spare[3]),
        "--location",
        str(data_dir / "azurite"),
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
    ]
    if quiet:
        azurite_cmd.append("--silent")
    out = open(logs / "azurite.log", "ab")
    stack.procs.append(subprocess.Popen(azurite_cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT))
    cosmos_log = logs / "cosmos.log"
    cosmos_log.write_text("")  # the readiness line below must come from this start
    cosmos_out = open(cosmos_log, "ab")
    cosmos_cmd = ["node", str(ROOT / "tools" / "cosmos" / "launcher.js"), "--port", str(stack.cosmos_port)]
    if persist_cosmos:
        cosmos_cmd += ["--data", str(data_dir / "cosmos.json")]
    stack.procs.append(subprocess.Popen(cosmos_cmd, stdout=cosmos_out, stderr=subprocess.STDOUT, cwd=ROOT))
    try:
        wait_for_port(stack.blob_port, proc=stack.procs[0])
        wait_for_port(stack.queue_port, proc=stack.procs[0])
        # Ready once any saved data is loaded, not merely when the port opens.
        _wait_for_line(cosmos_log, "cosmos-ready", stack.procs[1])
    except Exception:
        stack.stop()
        raise
    (data_dir / "stack.json").write_text(json.dumps(stack.values(), indent=2))
    return stack


@contextmanager
def running_stack(data_dir: Path, **kwargs: object) -> Iterator[LocalStack]:
    stack = start_stack(data_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield stack
    finally:
        stack.stop()
