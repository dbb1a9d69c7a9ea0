"""Deploy the nightly flow on the cron from configs/nightly.toml.

    python -m flows.deploy                  # `make serve`: this process runs the schedule
    python -m flows.deploy --pool nightly   # register a deployment on a process work pool;
                                            # workers on any machine run it (docs/scaling.md)

`serve` needs no work pool or worker: the process stays up and starts a flow run at each
scheduled time (the Prefect server must stay up too: `make server`). `--pool` registers the
deployment with the repository as its source; `prefect worker start --pool nightly` on each
machine (with the repository checked out at the same path) picks the runs up.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flows.settings import apply_offline_defaults

apply_offline_defaults()

from prefect.schedules import Cron  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402

from flows.nightly import configured_flow, nightly_flow  # noqa: E402
from pipeline.config import REPO_ROOT, load_config  # noqa: E402
from pipeline.nightly.settings import NightlySettings, load_nightly_settings  # noqa: E402


def schedule(settings: NightlySettings) -> Cron:
    return Cron(settings.cron, timezone=settings.timezone)


def serve(settings: NightlySettings) -> None:
    configured_flow(settings).serve(
        name=settings.deployment,
        schedule=schedule(settings),
        description="Nightly ingestion: discover, extract, stage, report",
        tags=["nightly"],
        global_limit=1,  # a night that overruns delays the next one instead of overlapping
    )


def deploy_to_pool(settings: NightlySettings, pool: str, parameters: dict[str, Any]) -> Any:
    """A deployment whose runs a process worker executes from this repository's code."""
    source = nightly_flow.from_source(
        str(REPO_ROOT), entrypoint="flows/nightly/__init__.py:nightly_flow"
    )
    return source.deploy(
        name=settings.deployment,
        work_pool_name=pool,
        schedule=schedule(settings),
        parameters=parameters,
        tags=["nightly"],
        concurrency_limit=1,  # one run at a time, whichever worker picks it up
        print_next_steps=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--pool", help="register on this process work pool instead of serving")
    parser.add_argument("--db", help="staging store URL the deployment's runs use")
    args = parser.parse_args(argv)
    settings = load_nightly_settings(load_config())
    if not PREFECT_API_URL.value():
        # A temporary server has no scheduler: the deployment would never run.
        print("a schedule needs a running Prefect server: start one with `make server` "
              "(or set PREFECT_API_URL), then run this again", file=sys.stderr)  # fmt: skip
        return 2
    if args.pool:
        deployment_id = deploy_to_pool(settings, args.pool, {"db": args.db} if args.db else {})
        print(f"deployment nightly/{settings.deployment} ({deployment_id}) on pool {args.pool}, "
              f"cron {settings.cron!r} {settings.timezone}; start a worker with "
              f"`prefect worker start --pool {args.pool}`")  # fmt: skip
        return 0
    print(f"serving nightly/{settings.deployment} on cron {settings.cron!r} {settings.timezone}")
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
