"""A local Spark session configured for clvlab (loopback, no UI, this interpreter)."""

from __future__ import annotations

import os
import sys
from typing import Any

from clvlab._imports import require

__all__ = ["local_session"]


def local_session(
    cores: int = 2,
    *,
    scratch: str | None = None,
    warehouse: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str = "2g",
    app_name: str = "clvlab",
) -> Any:
    """Start (or reuse) a ``local[cores]`` Spark session bound to loopback.

    Parameters
    ----------
    cores : int
        Worker threads of the local master (``local[cores]``).
    scratch : str, optional
        Folder for Spark's shuffle and spill files (``spark.local.dir``).
    warehouse : str, optional
        Folder of the session's managed tables (``spark.sql.warehouse.dir``), which
        :func:`clvlab.spark.write_table` writes; Spark's default is ``spark-warehouse``
        in the working directory.
    shuffle_partitions : int, optional
        ``spark.sql.shuffle.partitions``; defaults to ``2 * cores``, which suits one machine
        (Spark's own default of 200 makes small jobs slow).
    driver_memory : str
        JVM heap of the driver, for example ``"2g"``.
    app_name : str
        The application's name in Spark's logs.

    Returns
    -------
    pyspark.sql.SparkSession
        The session. Its Python workers run this interpreter (``PYSPARK_PYTHON``), so they
        import the same clvlab, pandas and pyarrow as the driver.
    """
    sql = require("pyspark.sql", extra="spark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        sql.SparkSession.builder.master(f"local[{int(cores)}]")
        .appName(app_name)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions or 2 * int(cores)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if scratch is not None:
        builder = builder.config("spark.local.dir", scratch)
    if warehouse is not None:
        builder = builder.config("spark.sql.warehouse.dir", warehouse)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
