"""Literature image-extraction pipeline for the COVID-19 image data collection.

The library never imports Prefect: every step is a plain function that the CLI
(`python -m pipeline ...`), the tests and the flows in `flows/` can call.
"""

__version__ = "0.1.0"
