"""The ``research`` command: run, list, validate, publish, lab."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from .exceptions import ResearchError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _workbook(args):
    from .workbook.config import load_workbook

    return load_workbook(args.workbook)


def _data_dir(args, wb=None) -> Path:
    from .data import default_data_dir

    if getattr(args, "data_dir", None):
        return Path(args.data_dir).resolve()
    if wb is not None and wb.data_dir is not None:
        return wb.data_dir
    if wb is not None and (wb.root / "data" / "datapackage.json").is_file():
        return (wb.root / "data").resolve()
    return default_data_dir().resolve()


def cmd_validate(args) -> int:
    from .validate import validate_package

    if args.data_dir:
        data_dir = Path(args.data_dir).resolve()
    elif Path(args.workbook).is_file():
        data_dir = _data_dir(args, _workbook(args))  # the project in this folder
    else:
        data_dir = _data_dir(args)
    problems = validate_package(data_dir, evidence_gaps=args.evidence_gaps)
    _print_gap_summary(data_dir, problems, args.evidence_gaps)
    if problems:
        print(f"{len(problems)} problem(s) in {data_dir}:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{data_dir}: valid")
    return EXIT_OK


def _print_gap_summary(data_dir: Path, problems: list, level: str | None) -> None:
    """Evidence gaps grouped by table and period (as warnings, they are not listed one by one)."""
    from . import validate_evidence as ve
    from .data import read_raw
    from .validate import check_tables

    descriptor, raw = read_raw(data_dir)
    if ve.gap_level(descriptor, level) == "error":
        gaps = ve.split_gaps(problems)[1]
        label = "errors, listed below"
    else:
        gaps = ve.split_gaps(check_tables(descriptor, raw, evidence_gaps="error"))[1]
        label = "warnings; list them with --evidence-gaps error"
    if gaps:
        print(f"{len(gaps)} evidence gap(s) ({label}):", file=sys.stderr)
        for line in ve.gap_summary(raw, gaps):
            print(f"  {line}", file=sys.stderr)


def cmd_list(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from .workbook.execute import run_status

    wb = _workbook(args)
    data_dir = _data_dir(args, wb)
    table = Table("run", "notebook", "parameters", "status", title=f"Runs in {wb.path.name}")
    for run in wb.select(args.runs):
        params = ", ".join(f"{k}={v!r}" for k, v in run.parameters.items())
        table.add_row(
            run.id, os.path.relpath(run.notebook, wb.root), params, run_status(wb, run, data_dir)
        )
    Console().print(table)
    return EXIT_OK


def _sigterm_as_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def cmd_run(args) -> int:
    # SIGTERM and SIGHUP (the terminal was closed) stop cleanly, like Ctrl-C
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    signal.signal(signal.SIGHUP, _sigterm_as_interrupt)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(
            "interrupted: workers and kernels stopped; the published site is unchanged",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def _run(args) -> int:
    from .validate import validate_package
    from .workbook import progress
    from .workbook.config import parse_override
    from .workbook.execute import Interrupted, execute
    from .workbook.fsutil import project_lock
    from .workbook.publish import publish

    wb = _workbook(args)
    data_dir = _data_dir(args, wb)
    problems = validate_package(data_dir)
    if problems:
        print(f"refusing to run: {len(problems)} problem(s) in {data_dir}:", file=sys.stderr)
        for p in problems[:50]:
            print(f"  {p}", file=sys.stderr)
        return EXIT_FAILED
    overrides = dict(parse_override(p) for p in args.param)
    runs = wb.with_overrides(wb.select(args.runs), overrides)
    display = progress.BatchDisplay(enabled=not args.quiet)
    with project_lock(wb.outputs):  # one research run per project at a time
        try:
            with display:
                outcomes = execute(
                    wb,
                    runs,
                    data_dir,
                    jobs=args.jobs,
                    force=args.force,
                    timeout=args.timeout,
                    on_change=display.update,
                )
        except Interrupted:
            raise KeyboardInterrupt from None
        display.summary(outcomes, wb)
        index = publish(wb, data_dir, force=False)
    print(f"site: {index}")
    return EXIT_FAILED if any(o.status == "failed" for o in outcomes) else EXIT_OK


def cmd_publish(args) -> int:
    from .workbook.fsutil import project_lock
    from .workbook.publish import publish

    wb = _workbook(args)
    with project_lock(wb.outputs):
        index = publish(wb, _data_dir(args, wb), force=True)
    print(f"site: {index}")
    return EXIT_OK


def cmd_lab(args) -> int:
    from .workbook.config import DEFAULT_KERNEL

    root = Path(args.workbook).resolve().parent
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root}",
        f"--MappingKernelManager.default_kernel_name={DEFAULT_KERNEL}",
        *args.lab_args,
    ]
    if _is_root() and not any(a.startswith("--allow-root") for a in argv):
        argv.append("--allow-root")
        print(
            "research lab: running as root, so JupyterLab is started with --allow-root",
            file=sys.stderr,
        )
    logging.getLogger("research").debug("exec %s", " ".join(argv))
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return EXIT_OK  # pragma: no cover - execv does not return


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _common(defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before and after the subcommand (``research run --workbook x``)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workbook",
        default="workbook.toml" if defaults else argparse.SUPPRESS,
        help="path of workbook.toml (default: ./workbook.toml)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="log what the engine decides (cache keys, workers, locks) to stderr",
    )
    return common


P_HELP = (
    "override a parameter for the selected runs (repeatable). VALUE is a TOML literal: "
    'true/false, 3, 0.5, [1, 2], "text"; a bare word such as nato is taken as a string'
)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="research",
        description="Run, list, validate and publish the research workbook.",
        parents=[_common(True)],
    )
    parser.add_argument("--version", action="version", version=f"research {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    common = _common(False)
    _add_parser = sub.add_parser

    def add_parser(*a, **k):
        return _add_parser(*a, parents=[common], **k)

    sub.add_parser = add_parser  # every subcommand takes --workbook and --verbose too

    run = sub.add_parser(
        "run",
        help="execute runs (all by default), render them, publish the site",
        description="Execute runs with papermill in parallel workers, render "
        "each to HTML and publish outputs/site/. Cached runs are skipped.",
    )
    run.add_argument("runs", nargs="*", metavar="RUN", help="run ids or globs (default: all)")
    run.add_argument(
        "-j", "--jobs", type=int, default=None, help="parallel workers (default: one per core)"
    )
    run.add_argument("--force", action="store_true", help="re-execute even cached runs")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=P_HELP,
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds a run may take before it is killed and failed",
    )
    run.add_argument("--data-dir", default=None, help="data package folder (default: data/)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser(
        "list",
        help="the runs, their parameters and cache status",
        description="List runs with their parameters and whether each is "
        "cached, stale, failed or new.",
    )
    lst.add_argument("runs", nargs="*", metavar="RUN", help="run ids or globs (default: all)")
    lst.add_argument("--data-dir", default=None)
    lst.set_defaults(func=cmd_list)

    val = sub.add_parser(
        "validate",
        help="check the data package; non-zero exit on problems",
        description="Check every codebook rule and report all problems with "
        "file, line, field, value and rule.",
    )
    val.add_argument("data_dir", nargs="?", default=None, help="data folder (default: data/)")
    val.add_argument(
        "--evidence-gaps",
        choices=["error", "warning"],
        default=None,
        help="report missing evidence and missing deals rows as errors (each listed) or as a "
        "grouped warning; default: x-evidenceGaps in datapackage.json, else error",
    )
    val.set_defaults(func=cmd_validate)

    pub = sub.add_parser(
        "publish",
        help="rebuild the site from existing run outputs",
        description="Rebuild outputs/site/ from outputs/runs/ atomically.",
    )
    pub.add_argument("--data-dir", default=None)
    pub.set_defaults(func=cmd_publish)

    lab = sub.add_parser(
        "lab",
        help="start JupyterLab on the project with its kernel",
        description="Start JupyterLab rooted at the project, with the project "
        "kernel. Every other argument goes to JupyterLab untouched; as root, --allow-root is "
        "added (and said). JupyterLab's own help: research lab -- --help.",
    )
    lab.add_argument(
        "lab_args",
        nargs="*",
        metavar="JUPYTERLAB_ARGS",
        help="passed on to JupyterLab, e.g. --no-browser --ServerApp.port=8899",
    )
    lab.set_defaults(func=cmd_lab)
    return parser


def _subcommand_index(argv: list[str]) -> int | None:
    """Where the subcommand is: the first word that is not a global option or its value."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--workbook":
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return i
    return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line. For ``lab``, everything after it goes to JupyterLab untouched
    (argparse's REMAINDER would reject options such as ``--no-browser``), except our own
    ``--workbook``, ``--verbose`` and ``-h``; ``--`` passes the rest verbatim. ``lab`` as a run
    id (``research run lab -j 2``) is a run id, not the subcommand."""
    argv = list(sys.argv[1:] if argv is None else argv)
    at = _subcommand_index(argv)
    if at is None or argv[at] != "lab":
        return build_parser().parse_args(argv)
    ours, passed, rest = argv[: at + 1], [], argv[at + 1 :]
    while rest:
        a = rest.pop(0)
        if a == "--":
            passed += rest
            break
        if a in ("-h", "--help", "-v", "--verbose"):
            ours.append(a)
        elif a == "--workbook" and rest:
            ours += [a, rest.pop(0)]
        elif a.startswith("--workbook="):
            ours.append(a)
        else:
            passed.append(a)
    args = build_parser().parse_args(ours)
    args.lab_args = passed
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="research: %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except ResearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a full disk, a read-only folder, a busy project: one line
        print(f"error: {os_error_text(exc)}", file=sys.stderr)
        return EXIT_FAILED


def os_error_text(exc: OSError) -> str:
    """``path: reason`` for an OSError, without a traceback."""
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
