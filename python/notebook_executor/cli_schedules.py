"""``notebook-executor schedules ...`` and ``notebook-executor serve``."""

from __future__ import annotations

import argparse
import signal
import sys


def add_commands(commands, add_parameter_options, add_store_option) -> None:
    schedules = commands.add_parser("schedules", help="run notebooks on cron schedules",
                                    description="Create and manage schedules (they fire while a scheduler runs: "
                                                "`notebook-executor serve` or JupyterLab).")
    sub = schedules.add_subparsers(dest="schedules_command", metavar="ACTION", parser_class=type(schedules))
    sub.required = True

    create = sub.add_parser("create", help="schedule a notebook")
    create.add_argument("input", metavar="IN", help="the notebook to run")
    create.add_argument("--cron", required=True, metavar="EXPR", help='5-field cron, e.g. "0 9 * * MON-FRI"')
    create.add_argument("--tz", default="UTC", metavar="ZONE", help="IANA time zone (default UTC)")
    create.add_argument("--name", dest="display_name", help="the schedule's name (default: the notebook's)")
    create.add_argument("--missed-runs", choices=["skip", "run_once", "run_all"], default="run_once",
                        help="slots missed while no scheduler ran (default run_once)")
    add_parameter_options(create)
    create.add_argument("-k", "--kernel", dest="kernel_name", help="the kernel (default: the notebook's)")
    create.add_argument("--timeout", type=float, metavar="S", help="each run EXPIRED after S seconds")
    from .cli import add_execution_options

    add_execution_options(create)
    create.add_argument("--json", action="store_true", help="print the schedule as JSON")
    create.set_defaults(handler=_create)

    listing = sub.add_parser("list", help="list schedules, newest first")
    listing.add_argument("--state", help="ENABLED or PAUSED")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(handler=_list)

    for name, handler, text in [
        ("show", _show, "show one schedule"),
        ("pause", _pause, "stop firing (the schedule is kept)"),
        ("resume", _resume, "fire again from the next slot"),
        ("run", _run_now, "run now from the schedule's template"),
        ("delete", _delete, "delete the schedule (its executions are kept)"),
    ]:
        command = sub.add_parser(name, help=text)
        command.add_argument("id", metavar="ID")
        if name in ("show", "run"):
            command.add_argument("--json", action="store_true", help="print JSON")
        if name == "run":
            add_parameter_options(command)
        command.set_defaults(handler=handler)
    for command in sub.choices.values():
        add_store_option(command)

    serve = commands.add_parser("serve", help="run the scheduler and the dispatcher (no JupyterLab needed)",
                                description="Fire schedules and start queued executions until stopped "
                                            "(SIGTERM or Ctrl-C). Safe to run next to JupyterLab or other serve "
                                            "processes on the same store: each slot fires once.")
    serve.add_argument("--concurrency", type=int, help="runs at once (default: the number of cores)")
    serve.add_argument("--quiet", action="store_true", help="do not log each fired slot")
    serve.add_argument("--warm-kernels", metavar="NAME=N,...", type=_warm_kernels, default=None,
                       help="warm kernels kept per kernelspec, e.g. python3=2 (default python3=1; 0 turns the pool "
                            "off): a submission's first cell runs without a kernel start")
    serve.add_argument("--warm-idle", metavar="SECONDS", type=float, default=None,
                       help="without a local submission for this long the warm pool empties (default 1800)")
    serve.set_defaults(handler=_serve)


def _warm_kernels(text: str) -> dict[str, int]:
    if text.strip() == "0":
        return {}
    sizes = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, count = item.partition("=")
        if not sep or not name or not count.strip().isdigit():
            raise argparse.ArgumentTypeError(f"{item!r}: give NAME=COUNT, e.g. python3=1")
        sizes[name.strip()] = int(count)
    return sizes


def _executor(args, concurrency=None, create_store: bool = False, backends=None):
    from .executor import Executor

    return Executor(args.store, concurrency=concurrency, create_store=create_store, backends=backends)


def _print_json(value) -> None:
    import json

    print(json.dumps(value, indent=1, sort_keys=True))


def _describe(s) -> str:
    last = f"{s.last_execution.state} ({s.last_execution.id})" if s.last_execution else "none yet"
    return "\n".join([
        f"{s.id}  {s.display_name}",
        f"  cron:      {s.cron_schedule}  ({s.time_zone})",
        f"  state:     {s.state}",
        f"  next run:  {s.next_run_time or '-'}",
        f"  last run:  {last}",
        f"  missed:    {s.missed_runs}",
        f"  notebook:  {s.execution_template.get('input_notebook', '')}",
    ] + ([f"  parameters: {s.execution_template['parameters']}"] if s.execution_template.get("parameters") else []))


def _resolve(executor, id: str) -> str:
    from .cli import resolve_id

    return resolve_id(lambda token: executor.list_schedules(page_size=1000, page_token=token), id)


def _create(args) -> int:
    from .cli import collect_parameters, execution_fields

    schedule = _executor(args, create_store=True).create_schedule(
        args.input, args.cron, args.tz, display_name=args.display_name, parameters=collect_parameters(args),
        missed_runs=args.missed_runs, kernel_name=args.kernel_name, timeout_seconds=args.timeout,
        **execution_fields(args))
    if args.json:
        _print_json(schedule.to_dict())
    else:
        print(schedule.id)
        print(f"next run: {schedule.next_run_time}", file=sys.stderr)
    return 0


def _list(args) -> int:
    page = _executor(args).list_schedules(state=args.state, page_size=1000)
    if args.json:
        _print_json({"items": [s.to_dict() for s in page.items], "next_page_token": page.next_page_token})
        return 0
    if not page.items:
        print("no schedules", file=sys.stderr)
        return 0
    rows = [("ID", "NAME", "CRON", "ZONE", "STATE", "NEXT RUN", "LAST")]
    for s in page.items:
        rows.append((s.id[:12], s.display_name[:30], s.cron_schedule, s.time_zone, s.state,
                     (s.next_run_time or "-")[:16].replace("T", " "), s.last_execution.state if s.last_execution else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _show(args) -> int:
    executor = _executor(args)
    schedule = executor.get_schedule(_resolve(executor, args.id))
    if args.json:
        _print_json(schedule.to_dict())
    else:
        print(_describe(schedule))
    return 0


def _pause(args) -> int:
    executor = _executor(args)
    print(executor.pause_schedule(_resolve(executor, args.id)).state)
    return 0


def _resume(args) -> int:
    executor = _executor(args)
    schedule = executor.resume_schedule(_resolve(executor, args.id))
    print(f"{schedule.state}, next run {schedule.next_run_time}")
    return 0


def _run_now(args) -> int:
    from .cli import collect_parameters

    executor = _executor(args)
    execution = executor.run_schedule_now(_resolve(executor, args.id), parameters=collect_parameters(args) or None)
    if args.json:
        _print_json(execution.to_dict())
    else:
        print(execution.id)
    return 0


def _delete(args) -> int:
    executor = _executor(args)
    executor.delete_schedule(_resolve(executor, args.id))
    return 0


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    local = {}
    if args.warm_kernels is not None:
        local["warm_kernels"] = args.warm_kernels
    if args.warm_idle is not None:
        local["warm_idle_seconds"] = args.warm_idle
    executor = _executor(args, concurrency=args.concurrency, create_store=True, backends={"local": local})
    # SIGTERM (systemd's stop) ends the loop as Ctrl-C does: after the current firing.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"notebook-executor serve: scheduler and dispatcher on {executor.store_url}", file=sys.stderr, flush=True)
    try:
        executor.serve(log=not args.quiet)
    except KeyboardInterrupt:
        print("notebook-executor serve: stopped", file=sys.stderr)
    return 0
