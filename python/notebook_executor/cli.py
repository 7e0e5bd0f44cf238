"""The ``notebook-executor`` command."""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

from . import __version__, _core, _execute
from .errors import CellExecutionError, NotebookExecutorError, ParameterError

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run Jupyter notebooks in the foreground or the background.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
    run.add_argument("--log-output", action="store_true", help="copy cell output to stderr as it comes")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    run.set_defaults(handler=_run)
    return parser


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
    for text in args.strings:
        parameters.update(_core.parse_parameter_string(text))
    for name, value in args.typed:
        parameters[name] = _core.parse_typed_value(value)
    for name, value in args.raw:
        parameters[name] = value
    return parameters


def _default_output(input_path: str) -> str:
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
        return_notebook=False,  # the CLI needs only the file
    )
    if not args.output:
        print(f"{PROG}: wrote {output}", file=sys.stderr)
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
