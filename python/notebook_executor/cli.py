"""The ``notebook-executor`` command."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

from . import __version__, _core, _execute
from .errors import (CancelledError, CellExecutionError, ExecutionTimeoutError, KernelDiedError, KernelNotFoundError,
                     NotebookExecutorError, ParameterError, ValidationError)

PROG = "notebook-executor"
EXIT_USAGE = 2
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit with 2, as the contract says
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_parameter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("parameters (papermill-compatible)")
    group.add_argument("-p", "--param", dest="typed", nargs=2, action="append", metavar=("NAME", "VALUE"),
                       default=[], help="a parameter, typed: int, float, True/False, None, else string")
    group.add_argument("-r", "--raw", dest="raw", nargs=2, action="append", metavar=("NAME", "VALUE"),
                       default=[], help="a parameter kept as a string")
    group.add_argument("-f", "--parameters-file", dest="files", action="append", metavar="FILE", default=[],
                       help="a YAML file of parameters")
    group.add_argument("-y", "--parameters-yaml", dest="yamls", action="append", metavar="YAML", default=[],
                       help="parameters as a YAML string")
    group.add_argument("--parameters", dest="strings", action="append", metavar="STR", default=[],
                       help='parameters as name=value pairs: optimizer="SGD",learning_rate=0.01')
    group.add_argument("--parameters-json", dest="jsons", action="append", metavar="JSON", default=[],
                       help="parameters as a JSON object, types exact (what the remote backends' jobs get)")


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """Where and how a background execution runs (submit, schedules create)."""
    group = parser.add_argument_group("where it runs")
    group.add_argument("--backend", help="local (default), vertex or ray")
    group.add_argument("--output-location", help="folder or gs:// prefix for the executed notebook")
    group.add_argument("--machine-type", help="e.g. n1-standard-4 (Vertex AI), or a resource shape the Ray "
                       "backend's configuration names")
    group.add_argument("--accelerator-type", help="e.g. NVIDIA_TESLA_T4")
    group.add_argument("--accelerator-count", type=int, metavar="N")
    group.add_argument("--region", help="e.g. us-central1")
    group.add_argument("--environment", metavar="IMAGE", help="the container image (remote backends)")
    group.add_argument("--service-account", metavar="EMAIL", help="the job's service account")
    group.add_argument("--network", help="the VPC network the job joins")
    group.add_argument("--label", dest="labels", action="append", metavar="KEY=VALUE", default=[],
                       help="a label of the execution (and of its job)")


def execution_fields(args: argparse.Namespace) -> dict:
    """The fields of `add_execution_options` that were given."""
    labels = {}
    for item in args.labels:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"--label {item!r}: give KEY=VALUE", field="labels")
        labels[key] = value
    fields = {"backend": args.backend, "output_location": args.output_location, "machine_type": args.machine_type,
              "accelerator_type": args.accelerator_type, "accelerator_count": args.accelerator_count,
              "region": args.region, "environment": args.environment, "service_account": args.service_account,
              "network": args.network, "labels": labels or None}
    return {k: v for k, v in fields.items() if v is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run Jupyter notebooks in the foreground or the background.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--store", help="sqlite:// path or postgresql:// URL of the state store (also after the "
                        "command)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    run = commands.add_parser("run", help="run a notebook now, in the foreground (papermill-style)",
                              description="Run a notebook now and write the executed notebook.")
    run.add_argument("input", metavar="IN", help="the notebook to run")
    run.add_argument("output", metavar="OUT", nargs="?",
                     help="where the executed notebook goes (default: IN with .out.ipynb)")
    _add_parameter_options(run)
    run.add_argument("-k", "--kernel", dest="kernel_name", help="the kernel (default: the notebook's)")
    run.add_argument("--cwd", help="the kernel's working directory (default: the notebook's folder)")
    run.add_argument("--timeout", type=float, metavar="S", help="stop the whole run after S seconds")
    run.add_argument("--cell-timeout", type=float, metavar="S", help="stop any cell after S seconds")
    run.add_argument("--allow-errors", action="store_true", help="go on after a cell raises")
    run.add_argument("--skip-cells-with-tag", metavar="TAG", default="skip-execution",
                     help="do not run cells with this tag (default: skip-execution, as nbclient)")
    run.add_argument("--log-output", action="store_true", help="copy cell output to stderr as it comes")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    run.add_argument("--status", metavar="URI", help="write the run's progress and end state there as JSON "
                     "(remote backends follow their jobs by it)")
    run.add_argument("--recorded-input-path", metavar="PATH", help="the input path the output's papermill "
                     "metadata records (a remote job runs a staged copy of the notebook that was submitted)")
    run.set_defaults(handler=_run)

    submit = commands.add_parser("submit", help="queue a notebook to run in the background",
                                 description="Queue a notebook; it runs in a runner process.")
    submit.add_argument("input", metavar="IN", help="the notebook to run")
    submit.add_argument("--name", dest="display_name", help="the execution's name (default: the notebook's)")
    _add_parameter_options(submit)
    submit.add_argument("-k", "--kernel", dest="kernel_name", help="the kernel (default: the notebook's)")
    add_execution_options(submit)
    submit.add_argument("--timeout", type=float, metavar="S", help="EXPIRED after S seconds of running")
    submit.add_argument("--cell-timeout", type=float, metavar="S", help="stop any cell after S seconds")
    submit.add_argument("--allow-errors", action="store_true", help="go on after a cell raises")
    submit.add_argument("--idempotency-token", help="a repeat with this token returns the first execution")
    submit.add_argument("--wait", action="store_true", help="wait for the end, showing progress")
    submit.add_argument("--json", action="store_true", help="print the execution as JSON")
    submit.set_defaults(handler=_submit)

    listing = commands.add_parser("list", help="list executions, newest first")
    listing.add_argument("--state", help="only this state (QUEUED, RUNNING, SUCCEEDED, ...)")
    listing.add_argument("--schedule", dest="schedule_id", help="only this schedule's executions")
    listing.add_argument("--region", help="only the remote jobs in this region")
    listing.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
    listing.add_argument("--page-token", help="continue after a previous page")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(handler=_list)

    for name, handler, text in [
        ("show", _show, "show one execution"),
        ("cancel", _cancel, "cancel an execution (a running one is stopped, its partial output kept)"),
        ("delete", _delete, "delete an execution and its outputs"),
    ]:
        command = commands.add_parser(name, help=text)
        command.add_argument("id", metavar="ID")
        if name == "delete":
            command.add_argument("--keep-outputs", action="store_true", help="keep the output files")
        if name == "show":
            command.add_argument("--json", action="store_true", help="print JSON")
        command.set_defaults(handler=handler)

    logs = commands.add_parser("logs", help="what an execution's run has printed so far",
                               description="Print what the run has printed so far: a Ray job's logs, or for the "
                               "other backends the notebook's stream output and errors (a Vertex AI job's "
                               "console logs: see the link of `show`).")
    logs.add_argument("id", metavar="ID")
    logs.set_defaults(handler=_logs)

    imported = commands.add_parser("import", help="copy an execution's executed notebook into a folder")
    imported.add_argument("id", metavar="ID")
    imported.add_argument("dir", metavar="DIR", nargs="?", default="imported_notebook_jobs")
    imported.set_defaults(handler=_import)

    share = commands.add_parser("share", help="share a result in Cloud Storage: a signed URL, or read access to its bucket")
    share.add_argument("id", metavar="ID")
    how = share.add_mutually_exclusive_group(required=True)
    how.add_argument("--signed-url", type=int, metavar="SECONDS",
                     help="print a V4 signed URL of the result page, valid that long (at most 604800: 7 days)")
    how.add_argument("--grant", metavar="MEMBER",
                     help="grant an email (or user:, group:, serviceAccount:, domain:) read access to the whole bucket")
    share.add_argument("--notebook", action="store_true", help="with --signed-url: also one of the executed notebook")
    share.set_defaults(handler=_share)

    purge = commands.add_parser("purge", help="retention: delete old finished executions and their outputs")
    purge.add_argument("--older-than-days", type=float, metavar="N", help="those that ended more than N days ago")
    purge.add_argument("--keep-per-schedule", type=int, metavar="N", help="all but the newest N runs of each schedule")
    purge.set_defaults(handler=_purge)

    from .cli_schedules import add_commands

    add_commands(commands, _add_parameter_options, _add_store_option)
    for name, command in commands.choices.items():
        if name != "schedules":
            _add_store_option(command)
    return parser


def _add_store_option(command: argparse.ArgumentParser) -> None:
    # SUPPRESS: when not given here, the global `--store` (before the command) stands.
    command.add_argument("--store", default=argparse.SUPPRESS,
                         help="sqlite:// path or postgresql:// URL of the state store")


def _load_yaml(text: str, origin: str) -> dict:
    import yaml

    class NoDatesSafeLoader(yaml.SafeLoader):
        """papermill's loader: dates stay strings."""

    NoDatesSafeLoader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    try:
        data = yaml.load(text, Loader=NoDatesSafeLoader)
    except yaml.YAMLError as e:
        raise ParameterError(f"{origin}: not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{origin}: parameters must be a YAML mapping of name: value")
    return data


def collect_parameters(args: argparse.Namespace) -> dict:
    """All parameter options merged, later kinds winning as in papermill: files, YAML,
    name=value strings, -p, -r."""
    parameters: dict = {}
    for path in args.files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ParameterError(f"cannot read parameters file {path}: {e.strerror}") from None
        parameters.update(_load_yaml(text, path))
    for text in args.yamls:
        parameters.update(_load_yaml(text, "-y"))
    for text in args.jsons:
        try:
            value = json.loads(text)
        except ValueError as e:
            raise ParameterError(f"--parameters-json: not JSON: {e}") from None
        if not isinstance(value, dict):
            raise ParameterError("--parameters-json: give a JSON object")
        parameters.update(value)
    for text in args.strings:
        parameters.update(_core.parse_parameter_string(text))
    for name, value in args.typed:
        parameters[name] = _core.parse_typed_value(value)
    for name, value in args.raw:
        parameters[name] = value
    return parameters


def _default_output(input_path: str) -> str:
    """``in.out.ipynb`` next to ``in.ipynb`` (a local path or a URI)."""
    if "://" in input_path:
        stem = input_path[:-len(".ipynb")] if input_path.endswith(".ipynb") else input_path
        return f"{stem}.out.ipynb"
    path = Path(input_path)
    return str(path.with_name(f"{path.stem}.out.ipynb"))


def _run(args: argparse.Namespace) -> int:
    output = args.output or _default_output(args.input)
    _execute(
        args.input,
        output,
        parameters=collect_parameters(args),
        kernel_name=args.kernel_name,
        cwd=args.cwd,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        progress=args.progress,
        log_output=args.log_output,
        allow_errors=args.allow_errors,
        skip_cells_with_tag=args.skip_cells_with_tag,
        return_notebook=False,  # the CLI needs only the file
        status=args.status,
        recorded_input_path=args.recorded_input_path,
    )
    if not args.output:
        print(f"{PROG}: wrote {output}", file=sys.stderr)
    return 0


def _executor(args, create_store: bool = False):
    """The executor on the chosen store; only submitting may create the store (reading
    commands on a store that does not exist say so)."""
    from .executor import Executor

    return Executor(args.store, create_store=create_store)


def _print_json(value) -> None:
    import json

    print(json.dumps(value, indent=1, sort_keys=True))


def _describe(e) -> str:
    lines = [f"{e.id}  {e.display_name}", f"  state:    {e.state}" + (f" ({e.state_message})" if e.state_message else ""),
             f"  notebook: {e.input_notebook}", f"  created:  {e.create_time}"]
    if e.start_time:
        lines.append(f"  started:  {e.start_time}")
    if e.end_time:
        lines.append(f"  ended:    {e.end_time}")
    if e.progress.cells_total:
        lines.append(f"  progress: {e.progress.cells_done}/{e.progress.cells_total} cells")
    if e.parameters:
        lines.append(f"  parameters: {e.parameters}")
    lines.append(f"  output:   {e.output_notebook_uri}")
    if e.backend_job_id:
        lines.append(f"  job:      {e.backend_job_id} ({e.backend})")
    for link in e.links:
        lines.append(f"  {link['label']}: {link['url']}")
    return "\n".join(lines)


def _submit(args: argparse.Namespace) -> int:
    executor = _executor(args, create_store=True)
    execution = executor.submit(
        args.input, parameters=collect_parameters(args), display_name=args.display_name,
        kernel_name=args.kernel_name, timeout_seconds=args.timeout, cell_timeout_seconds=args.cell_timeout,
        allow_errors=args.allow_errors, idempotency_token=args.idempotency_token, **execution_fields(args),
    )
    if execution.state == "QUEUED":  # a queued record's message is the run's warnings
        for line in filter(None, execution.state_message.splitlines()):
            print(f"{PROG}: warning: {line}", file=sys.stderr)
    if args.wait:
        execution = _wait_with_progress(executor, execution)
    if args.json:
        _print_json(execution.to_dict())
    else:
        print(execution.id if not args.wait else _describe(execution))
    return _exit_code_of(execution) if args.wait else 0


# The exception class `run` would raise for the failure that ended a background run.
_FAILURE_CLASSES = {"cell_error": CellExecutionError, "kernel_died": KernelDiedError,
                    "kernel_not_found": KernelNotFoundError, "timeout": ExecutionTimeoutError}


def _exit_code_of(execution) -> int:
    """The exit code of `submit --wait`: as `run`'s for the same end (SPEC's codes)."""
    if execution.state == "SUCCEEDED":
        return 0
    if execution.state == "CANCELLED":
        return CancelledError.exit_code
    if execution.state == "EXPIRED":
        return ExecutionTimeoutError.exit_code
    failure = _FAILURE_CLASSES.get(execution.failure_kind)
    return failure.exit_code if failure else 1  # the platform failed the run: it did not succeed


def _wait_with_progress(executor, execution):
    bar = sys.stderr.isatty()
    while not execution.done:
        try:
            execution = executor.wait(execution.id, timeout=0.5)
        except Exception as error:  # still running after the slice
            from .errors import ExecutionTimeoutError

            if not isinstance(error, ExecutionTimeoutError):
                raise
            execution = executor.get(execution.id)
        if bar:
            p = execution.progress
            total = max(p.cells_total, 1)
            filled = 30 * p.cells_done // total
            print(f"\r\x1b[2K{execution.state:<10} [{'█' * filled}{'░' * (30 - filled)}] {p.cells_done}/{p.cells_total} cells",
                  end="", file=sys.stderr, flush=True)
    if bar:
        print(file=sys.stderr)
    return execution


def _list(args: argparse.Namespace) -> int:
    page = _executor(args).list(state=args.state, schedule_id=args.schedule_id, page_size=args.limit,
                                page_token=args.page_token, region=args.region)
    if args.json:
        _print_json({"items": [e.to_dict() for e in page.items], "next_page_token": page.next_page_token})
        return 0
    if not page.items:
        print("no executions" + (" in that state" if args.state else ""), file=sys.stderr)
        return 0
    rows = [("ID", "NAME", "STATE", "PROGRESS", "CREATED")]
    for e in page.items:
        progress = f"{e.progress.cells_done}/{e.progress.cells_total}" if e.progress.cells_total else ""
        rows.append((e.id[:12], e.display_name[:30], e.state, progress, e.create_time[:19].replace("T", " ")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    if page.next_page_token:
        print(f"more: --page-token {page.next_page_token}", file=sys.stderr)
    return 0


def resolve_id(list_page, id: str) -> str:
    """Full ids, or a unique prefix as the tables show them; ``list_page(page_token)``
    returns a page of records."""
    if len(id) >= 32:
        return id
    matches, token = [], None
    while True:
        page = list_page(token)
        matches += [item.id for item in page.items if item.id.startswith(id)]
        token = page.next_page_token
        if not token:
            break
    return matches[0] if len(matches) == 1 else id


def _resolve_id(executor, id: str) -> str:
    return resolve_id(lambda token: executor.list(page_size=1000, page_token=token), id)


def _show(args: argparse.Namespace) -> int:
    executor = _executor(args)
    execution = executor.get(_resolve_id(executor, args.id))
    if args.json:
        _print_json(execution.to_dict())
    else:
        print(_describe(execution))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    executor = _executor(args)
    print(executor.cancel(_resolve_id(executor, args.id)).state)
    return 0


def _delete(args: argparse.Namespace) -> int:
    executor = _executor(args)
    executor.delete(_resolve_id(executor, args.id), keep_outputs=args.keep_outputs)
    return 0


def _logs(args: argparse.Namespace) -> int:
    executor = _executor(args)
    id = _resolve_id(executor, args.id)
    logs = executor.logs(id)
    sys.stdout.write(logs.text)
    if logs.text and not logs.text.endswith("\n"):
        sys.stdout.write("\n")
    for link in executor.get(id).links if logs.source == "notebook" else []:
        print(f"{link['label']}: {link['url']}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    executor = _executor(args)
    print(executor.import_result(_resolve_id(executor, args.id), args.dir))
    return 0


def _share(args: argparse.Namespace) -> int:
    executor = _executor(args)
    id = _resolve_id(executor, args.id)
    core = _core.ServerCore(executor._core)
    if args.grant is not None:
        grant = json.loads(core.grant_bucket_access(id, args.grant, blocking=True))
        done = "granted" if grant["changed"] else "already had"
        print(f"{grant['member']}: {done} {grant['role']} on gs://{grant['bucket']}")
        print(f"{PROG}: warning: {grant['warning']}", file=sys.stderr)
        return 0
    if not 1 <= args.signed_url <= 604800:
        print(f"{PROG} share: error: --signed-url: give 1 to 604800 seconds (7 days)", file=sys.stderr)
        return EXIT_USAGE
    signed = json.loads(core.signed_url(id, args.signed_url, args.notebook, blocking=True))
    print(signed["url"])
    if "notebook_url" in signed:
        print(signed["notebook_url"])
    print(f"expires {signed['expire_time']}", file=sys.stderr)
    return 0


def _purge(args: argparse.Namespace) -> int:
    if args.older_than_days is None and args.keep_per_schedule is None:
        print(f"{PROG} purge: error: give --older-than-days and/or --keep-per-schedule", file=sys.stderr)
        return EXIT_USAGE
    print(f"deleted {_executor(args).purge(args.older_than_days, args.keep_per_schedule)} executions")
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _report(error: NotebookExecutorError) -> None:
    print(f"{PROG}: error: {error}", file=sys.stderr)
    if isinstance(error, CellExecutionError) and error.traceback:
        traceback = "\n".join(error.traceback)
        if not sys.stderr.isatty():
            traceback = _ANSI.sub("", traceback)
        print(traceback, file=sys.stderr)


_PAIR_OPTIONS = {"-p": "typed", "--param": "typed", "-r": "raw", "--raw": "raw"}


def _take_parameter_pairs(argv: list[str]) -> tuple[list[str], dict]:
    """Takes `-p NAME VALUE` and `-r NAME VALUE` out of argv before argparse sees them:
    argparse would read a VALUE such as `-1e3` or `-x` as an option."""
    rest: list[str] = []
    pairs: dict = {"typed": [], "raw": []}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest.extend(argv[i:])
            break
        if token in _PAIR_OPTIONS and i + 2 < len(argv):
            pairs[_PAIR_OPTIONS[token]].append([argv[i + 1], argv[i + 2]])
            i += 3
            continue
        rest.append(token)
        i += 1
    return rest, pairs


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv, pairs = _take_parameter_pairs(argv)
    args = build_parser().parse_args(argv)
    if hasattr(args, "typed"):
        args.typed = pairs["typed"] + args.typed
        args.raw = pairs["raw"] + args.raw
    warnings.showwarning = _show_warning
    try:
        return args.handler(args)
    except NotebookExecutorError as error:
        _report(error)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
