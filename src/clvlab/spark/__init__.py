"""clvlab on Apache Spark: summarise transactions, fold and score past one machine.

Only the two steps that grow with the data run on the cluster: the transaction summary
(:func:`rfm_summary`) and per-customer scoring. Folding collects the small table of
distinct histories to the driver, where the models fit as they do on pandas. Needs the
``spark`` extra (``pip install "clvlab[spark]"``) and Java 17.
"""

from clvlab.spark.folding import fold
from clvlab.spark.rfm import rfm_metadata, rfm_summary
from clvlab.spark.scoring import SparkCustomerPredictions, predict_customers
from clvlab.spark.writers import export_spark, write_parquet, write_table

__all__ = [
    "SparkCustomerPredictions",
    "export_spark",
    "fold",
    "predict_customers",
    "rfm_metadata",
    "rfm_summary",
    "write_parquet",
    "write_table",
]
