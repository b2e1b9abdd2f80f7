"""LocalKeyWrapper: RSA-OAEP-256 wrap/unwrap with local key files, versions and rotation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shared.errors import NotFoundError
from shared.vault.keys import RSA_OAEP_256, KeyWrapper, LocalKeyWrapper, WrappedKey

DEK = bytes(range(32))


async def test_wrap_unwrap_round_trip(tmp_path: Path) -> None:
    wrapper = LocalKeyWrapper(tmp_path)
    assert isinstance(wrapper, KeyWrapper)
    wrapped = await wrapper.wrap(DEK)
    assert wrapped.alg == RSA_OAEP_256 and wrapped.kid == await wrapper.current_kid()
    assert DEK not in wrapped.value
    assert await wrapper.unwrap(wrapped) == DEK


async def test_key_files_are_private_and_survive_restart(tmp_path: Path) -> None:
    wrapped = await LocalKeyWrapper(tmp_path, "kek").wrap(DEK)
    pem_files = list((tmp_path / "kek").glob("*.pem"))
    assert len(pem_files) == 1
    assert stat.S_IMODE(os.stat(pem_files[0]).st_mode) == 0o600
    assert await LocalKeyWrapper(tmp_path, "kek").unwrap(wrapped) == DEK


async def test_rotation_keeps_old_versions_usable(tmp_path: Path) -> None:
    wrapper = LocalKeyWrapper(tmp_path)
    old = await wrapper.wrap(DEK)
    new_kid = await wrapper.rotate()
    assert new_kid != old.kid and await wrapper.current_kid() == new_kid
    new = await wrapper.wrap(DEK)
    assert new.kid == new_kid
    assert await wrapper.unwrap(old) == DEK
    assert await wrapper.unwrap(new) == DEK


async def test_unknown_or_foreign_kid_is_refused(tmp_path: Path) -> None:
    wrapper = LocalKeyWrapper(tmp_path, "a")
    wrapped = await wrapper.wrap(DEK)
    other = LocalKeyWrapper(tmp_path, "b")
    with pytest.raises(NotFoundError):
        await other.unwrap(wrapped)
    with pytest.raises(NotFoundError):
        await wrapper.unwrap(WrappedKey("local:a/" + "0" * 32, RSA_OAEP_256, wrapped.value))
    with pytest.raises(NotFoundError):
        await wrapper.unwrap(WrappedKey("local:a/../../etc/passwd", RSA_OAEP_256, b""))


async def test_tampered_wrapped_key_fails(tmp_path: Path) -> None:
    wrapper = LocalKeyWrapper(tmp_path)
    wrapped = await wrapper.wrap(DEK)
    broken = bytearray(wrapped.value)
    broken[10] ^= 1
    with pytest.raises(ValueError):
        await wrapper.unwrap(WrappedKey(wrapped.kid, wrapped.alg, bytes(broken)))
