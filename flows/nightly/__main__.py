"""`python -m flows.nightly`: one nightly run now (the flow is in flows/nightly/__init__.py).

The command is this package's `__main__` rather than a module run as a script: the worker
processes that extract sources (pipeline/nightly/workers.py) import the command's main
module, and with it Prefect (about 55 MB each), unless it is a package's `__main__`, which
multiprocessing leaves alone.
"""

import sys

from flows.nightly import main

sys.exit(main())
