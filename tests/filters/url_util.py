"""Helpers of the url filter tests (a plain module: `conftest` names are ambiguous across folders)."""

from __future__ import annotations

import tarfile
import zipfile

from gristmill.data.fetch import fetch
from gristmill.filters.url_lists import UT1_ARCHIVE


def ut1_lines(member: str, n: int) -> list[str]:
    """The first ``n`` lines of the wheel's UT1 ``domains`` or ``urls`` file, read directly."""
    with zipfile.ZipFile(fetch("datatrove")) as z, z.open(UT1_ARCHIVE) as raw, \
            tarfile.open(fileobj=raw, mode="r|gz") as tar:
        for m in tar:
            if m.name == member:
                f = tar.extractfile(m)
                assert f is not None
                return [f.readline().decode().strip() for _ in range(n)]
    raise AssertionError(member)
