"""Entry point of a runner process (started by the executor, not by users):
``python -m notebook_executor._runner --store URL --runner-id ID``; with ``--warm KERNEL``, a runner
of the warm pool (it starts a kernel before any work and waits with it)."""

from __future__ import annotations

import argparse
import sys

from . import _core
from ._env import python_env


def main() -> int:
    parser = argparse.ArgumentParser(prog="notebook_executor._runner")
    parser.add_argument("--store", required=True)
    parser.add_argument("--runner-id", required=True)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--warm", metavar="KERNEL", default=None)
    parser.add_argument("--pool-size", type=int, default=1)
    parser.add_argument("--idle", type=float, default=1800.0)
    parser.add_argument("--keeper", default=None)
    parser.add_argument("--stay", type=float, default=0.0)
    args = parser.parse_args()
    # A runner never creates a store: one removed meanwhile is an error, not a new empty one.
    core = _core.ExecutorCore(args.store, python_env(), args.concurrency, None, None, False)
    core.run_runner(args.runner_id, args.warm, args.pool_size, args.idle, args.keeper, args.stay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
