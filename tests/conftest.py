"""Shared fixtures. Every reference value used in a test names its source there."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

import clvlab

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests are derandomised (a fixed seed per test, no example database), so a
# run is reproducible and CI cannot fail on an example that a local run never tried.
settings.register_profile(
    "clvlab",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("clvlab")


@pytest.fixture(scope="session")
def cdnow_sample() -> pd.DataFrame:
    """CDNOW 1/10 sample transaction log (2,357 customers), as shipped with lifetimes."""
    return clvlab.datasets.load_cdnow_sample()


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """Published CDNOW RFM summary (Fader, Hardie & Lee 2005), weeks."""
    return clvlab.datasets.load_cdnow_summary()


@pytest.fixture(scope="session")
def cdnow_sample_rfm(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    """RFM of the CDNOW sample, calibration to 1997-09-30, observation to 1998-06-30."""
    return clvlab.rfm_summary(
        cdnow_sample,
        customer_id_col="customer_id",
        datetime_col="date",
        monetary_value_col="spend",
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
    )


def _postgres_bindir() -> Path | None:
    """Folder of the PostgreSQL server binaries, or None when none is installed."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    """A loopback port free right now. Another process can take it before the server
    binds it, so :func:`postgres_url` retries on a new port when that happens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_PORT_TAKEN = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of our own on loopback, for the session; stopped afterwards.

    Skips when no server binary is installed, unless ``CLVLAB_REQUIRE_POSTGRES`` is set
    (as ``.ci/run`` does): then a missing server fails the run instead of skipping.
    Runs the server as the ``postgres`` user when the tests run as root (PostgreSQL
    refuses to run as root). A port taken between choosing it and the server binding it
    makes the start fail; the server is then started again on another port (up to five
    tries). The temporary folder is removed whatever happens, a failed start included.
    """
    bindir = _postgres_bindir()
    if bindir is None:
        if os.environ.get("CLVLAB_REQUIRE_POSTGRES"):
            pytest.fail("CLVLAB_REQUIRE_POSTGRES is set but no PostgreSQL server is installed")
        pytest.skip("no PostgreSQL server binary (initdb) on this machine")
    root = Path(tempfile.mkdtemp(prefix="clvlab-pg-"))
    data = root / "data"
    log = root / "log"
    prefix: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    password = "clvlab-test-password"

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}\n{done.stderr}")

    started = False
    try:
        pwfile = root / "pw"
        pwfile.write_text(password + "\n")
        if prefix:
            shutil.chown(root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "clvlab",
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )
        for attempt in range(5):
            port = _free_port()
            logged = log.stat().st_size if log.exists() else 0
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
            start = [str(bindir / "pg_ctl"), "-D", str(data), "-o", options]
            try:
                run(*start, "-l", str(log), "-w", "start")
            except RuntimeError:
                this_try = ""
                if log.exists():
                    with open(log, errors="replace") as handle:
                        handle.seek(logged)
                        this_try = handle.read()
                if attempt < 4 and any(sign in this_try for sign in _PORT_TAKEN):
                    continue  # the port was taken meanwhile: try another one
                raise
            started = True
            break
        yield f"postgresql://clvlab:{password}@127.0.0.1:{port}/postgres"
    finally:
        try:
            if started:
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """A real local Spark session (``local[2]``) on loopback, stopped after the tests.

    Skips when pyspark or Java is missing, unless ``CLVLAB_REQUIRE_SPARK`` is set (as
    ``.ci/run`` does), which makes that a failure. The Python workers run this
    interpreter (``PYSPARK_PYTHON``), so they import the same clvlab, pandas and pyarrow.
    Tests that use it carry ``pytest.mark.spark`` and ``pytest.mark.xdist_group("spark")``
    so that one xdist worker starts one JVM for all of them.
    """
    required = bool(os.environ.get("CLVLAB_REQUIRE_SPARK"))
    try:
        from clvlab.spark import session as spark_session
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        if required:
            pytest.fail(f"CLVLAB_REQUIRE_SPARK is set but clvlab.spark cannot import: {exc}")
        pytest.skip(f"pyspark is not installed: {exc}")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if required:
            pytest.fail("CLVLAB_REQUIRE_SPARK is set but no Java runtime is installed")
        pytest.skip("no Java runtime for Spark")
    with tempfile.TemporaryDirectory(prefix="clvlab-spark-") as scratch:
        # managed tables in the scratch folder too: Spark's default, spark-warehouse in
        # the working directory, would be left behind in the repository
        session = spark_session.local_session(
            cores=2, scratch=scratch, warehouse=os.path.join(scratch, "warehouse")
        )
        try:
            yield session
        finally:
            session.stop()
