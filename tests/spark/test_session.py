"""The local Spark session the Spark tests share, and the missing-extra error."""

from __future__ import annotations

import sys

import pytest

from clvlab._imports import require
from clvlab.errors import ClvlabError, MissingDependencyError

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def test_local_session_runs_python_workers_of_this_interpreter(spark) -> None:
    # A Python UDF runs in a worker process: it must be this interpreter, or pyarrow and
    # clvlab would be missing there (pyspark's default is "python3").
    rows = spark.range(4).rdd.map(lambda _: sys.executable).distinct().collect()
    assert rows == [sys.executable]
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.driver.host") == "127.0.0.1"


def test_require_names_the_extra_to_install() -> None:
    with pytest.raises(MissingDependencyError, match=r'pip install "clvlab\[spark\]"') as info:
        require("clvlab_no_such_module", extra="spark")
    assert isinstance(info.value, ClvlabError)
    assert isinstance(info.value, ImportError)
