"""`ferry up` ports (issue 14, item 6): every stand-in takes a free port unless an option names
one; a port named twice is refused; `ferry token` finds the issuer of the running `ferry up`."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tools.cli import API_PORT, STAND_INS, UP_FILE, build_parser, choose_ports, cmd_token, require_free


def test_up_takes_free_ports_for_every_stand_in_by_default() -> None:
    args = build_parser().parse_args(["up"])
    assert args.port == API_PORT
    wanted = {name: getattr(args, f"{name}_port") for name in STAND_INS}
    assert wanted == dict.fromkeys(("blob", "queue", "table", "cosmos", "issuer"), 0)
    ports = choose_ports(wanted)
    assert sorted(ports) == sorted(STAND_INS) and len(set(ports.values())) == len(STAND_INS)
    assert all(p > 0 for p in ports.values())


def test_ports_named_in_options_are_kept_and_the_rest_differ_from_them() -> None:
    args = build_parser().parse_args(["up", "--blob-port", "20000", "--cosmos-port", "20001", "--port", "0"])
    ports = choose_ports({name: getattr(args, f"{name}_port") for name in STAND_INS})
    assert ports["blob"] == 20000 and ports["cosmos"] == 20001
    assert len(set(ports.values())) == len(STAND_INS)
    assert args.port == 0


def test_one_port_for_two_stand_ins_is_refused() -> None:
    with pytest.raises(SystemExit, match="one port given to two stand-ins"):
        choose_ports({"blob": 20000, "queue": 20000, "table": 0, "cosmos": 0, "issuer": 0})


def test_a_taken_port_stops_up_with_the_option_to_change() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(SystemExit, match=rf"port {port} for the cosmos stand-in is in use.*--cosmos-port 0"):
            require_free(port, "cosmos stand-in", "--cosmos-port")


def test_token_without_a_running_up_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["token", "a@example.com", "--data-dir", str(tmp_path)])
    assert cmd_token(args) == 2
    assert "no `ferry up` runs" in capsys.readouterr().err


def test_token_names_the_issuer_of_the_running_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import jwt

    (tmp_path / UP_FILE).write_text(
        json.dumps({"api": "http://127.0.0.1:1", "issuer": "http://127.0.0.1:45678", "ports": {"issuer": 45678}})
    )
    args = build_parser().parse_args(["token", "a@example.com", "--data-dir", str(tmp_path)])
    assert cmd_token(args) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["iss"] == "http://127.0.0.1:45678" and claims["email"] == "a@example.com"
