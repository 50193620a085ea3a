"""What every ``lakeguard`` command shares: exit codes, one-line errors, options, output.

Exit codes (documented in the README, checked against ``--help`` by
``tests/unit/test_readme_cli.py``):

- 0: the command did its work and found nothing wrong;
- 1: the work found problems (a quarantined file, a failed check) or failed;
- 2: the command line is wrong (an unknown option, dataset or entity, a bad value);
- 3: the environment lacks something the command needs (region, credentials, a stack).

Expected failures print one line, ``lakeguard: <what is wrong>; <how to fix it>``, on
stderr; ``--debug`` prints the trace as well. Results go to stdout, everything else
(progress, log lines) to stderr, so that ``lakeguard ... | head`` or ``> file`` holds
only results.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from lakeguard.exceptions import BenchmarkError, LakeguardError, SetupError, UsageError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_SETUP = 3

FORMATS = ("table", "csv", "json")

#: The source tree the commands run from (``cdk.json``, the demo's ``data/``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CREDENTIAL_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure", "InvalidToken",
})


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions wrapped, examples (text with line breaks) kept as written, defaults shown."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # "(default: None)" and "(default: False)" say nothing: only real defaults are shown
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2, like every usage error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print ``lakeguard: <message>; see <prog> --help`` on stderr and exit 2."""
        self.exit(EXIT_USAGE, f"lakeguard: {one_line(message)}; see `{self.prog} --help`\n")


def one_line(message: str) -> str:
    """``message`` without terminal escapes, on one line."""
    return " ".join(_ANSI.sub("", message).split())


def explain(err: BaseException) -> tuple[int, str]:
    """The exit code and the one line to print for an exception a command raised."""
    import botocore.exceptions as boto

    if isinstance(err, UsageError | BenchmarkError):  # a benchmark's inputs are its arguments
        return EXIT_USAGE, str(err)
    if isinstance(err, SetupError):
        return EXIT_SETUP, str(err)
    if isinstance(err, LakeguardError):
        return EXIT_PROBLEMS, str(err)
    if isinstance(err, boto.NoRegionError):
        return EXIT_SETUP, ("no AWS region is set; pass --region REGION, or set AWS_DEFAULT_REGION "
                            "or a region in the AWS profile")
    if isinstance(err, boto.NoCredentialsError | boto.PartialCredentialsError):
        return EXIT_SETUP, ("no AWS credentials found; pass --profile NAME, set AWS_PROFILE or "
                            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`")
    if isinstance(err, boto.ProfileNotFound):
        return EXIT_SETUP, (f"{err}; pass a profile that `aws configure list-profiles` lists, "
                            "or drop --profile")
    if isinstance(err, boto.TokenRetrievalError | boto.SSOTokenLoadError):
        return EXIT_SETUP, "the AWS SSO session has expired; run `aws sso login` and try again"
    if isinstance(err, boto.EndpointConnectionError):
        return EXIT_SETUP, (f"{err}; check the network and --region, or AWS_ENDPOINT_URL if "
                            "it points at an embedded lake")
    if isinstance(err, boto.ClientError):
        code = str(err.response.get("Error", {}).get("Code", ""))
        if code in _CREDENTIAL_CODES:
            return EXIT_SETUP, (f"AWS rejected the credentials ({code}); refresh them "
                                "(`aws sso login`, or new keys) or pass another --profile")
        if code.startswith("AccessDenied"):
            return EXIT_SETUP, (f"{err}; use --profile with a role that may do this, see "
                                "README 'Who may touch what'")
        return EXIT_PROBLEMS, f"{err}; rerun with --debug for the trace"
    if isinstance(err, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return EXIT_USAGE, f"{err.strerror}: {err.filename}; check the path given"
    if isinstance(err, PermissionError):
        return EXIT_SETUP, f"{err.strerror}: {err.filename}; check the file's permissions"
    frames = traceback.extract_tb(err.__traceback__)
    where = f" in {_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    # The message is left out: an unexpected error may quote a row of personal data.
    return EXIT_PROBLEMS, (f"internal error ({type(err).__name__}{where}); rerun with --debug "
                           "for the trace, and report it")


def _short(filename: str) -> str:
    parts = Path(filename).parts
    return "/".join(parts[parts.index("lakeguard"):]) if "lakeguard" in parts else Path(filename).name


def report_failure(err: BaseException, debug: bool) -> int:
    """Print the one line (and the trace under ``--debug``) for ``err``; return the exit code."""
    code, message = explain(err)
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    print(f"lakeguard: {one_line(message)}", file=sys.stderr, flush=True)
    return code


def run_main(build_parser: Callable[[], argparse.ArgumentParser],
             argv: Sequence[str] | None) -> int:
    """Parse ``argv`` with the parser ``build_parser`` makes, run its command; the exit code.

    The body of every console script's ``main``: logs on stderr, ``--region``/``--profile``
    applied, one line per expected failure (the trace under ``--debug``).
    """
    from lakeguard.logs import use_stderr

    use_stderr()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        apply_aws_options(args)
        code: int = args.func(args)
    except SystemExit as done:  # argparse: --help, --version, a usage error
        return done.code if isinstance(done.code, int) else EXIT_OK
    except BrokenPipeError:
        silence_stdout()  # the reader (`| head`) has what it wanted: not an error
        return EXIT_OK
    except KeyboardInterrupt:
        print("lakeguard: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        return report_failure(err, debug)
    finally:
        use_stderr(False)
    return code


def silence_stdout() -> None:
    """After a reader closed the pipe (``| head``): send what is left of stdout to /dev/null.

    Python flushes stdout at exit; without this, that flush raises BrokenPipeError again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a file (a test's capture): nothing will flush into the pipe


def emit(text: str) -> None:
    """Print a result line (or block) on stdout."""
    print(text, flush=True)


def progress(text: str) -> None:
    """Print a progress line on stderr, so that stdout holds only results."""
    print(text, file=sys.stderr, flush=True)


def add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--region``, ``--profile`` and ``--debug``, accepted before or after the sub-command.

    Sub-commands declare them with no default (``SUPPRESS``), so that a value given before
    the sub-command is not overwritten by the sub-command's default.
    """
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("AWS and diagnostics")
    group.add_argument("--region", metavar="REGION",
                       help="AWS region (default: AWS_DEFAULT_REGION, else the profile's)",
                       **default)
    group.add_argument("--profile", metavar="NAME",
                       help="AWS named profile (default: AWS_PROFILE, else the default chain)",
                       **default)
    group.add_argument("--debug", action="store_true",
                       help="print the full trace when a command fails", **default)


def add_format_option(parser: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS,
                      *, top: bool = True) -> None:
    """``--format`` (and ``--json``, kept for scripts written before it, as its alias)."""
    default: dict[str, Any] = {"default": formats[0]} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--format", choices=formats,
                        help="table for people; csv (full precision) or json (typed) for scripts",
                        **default)
    alias: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--json", dest="format", action="store_const", const="json",
                        help=argparse.SUPPRESS, **alias)


def with_global_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` with the global options on it and on every sub-command under it."""
    add_global_options(parser, top=True)
    for child in list(all_parsers(parser))[1:]:
        add_global_options(child, top=False)
    return parser


def all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every sub-command parser under it, depth first."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from all_parsers(child)


def apply_aws_options(args: argparse.Namespace) -> None:
    """Make ``--region`` and ``--profile`` what every AWS client of this process uses.

    Through the environment, as the AWS CLI does: boto3 sessions, the client factory and
    pyiceberg's Glue catalog all read it.
    """
    if getattr(args, "region", None):
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = args.region
    if getattr(args, "profile", None):
        os.environ["AWS_PROFILE"] = args.profile


#: The stacks a command works on unless ``--stack-prefix`` says otherwise: the dev environment.
STACK_PREFIX = "lakeguard-dev-"


def add_stack_prefix_option(parser: argparse.ArgumentParser) -> None:
    """``--stack-prefix``: which deployed environment a command works on."""
    parser.add_argument("--stack-prefix", metavar="PREFIX", default=STACK_PREFIX,
                        help="name prefix of the deployed stacks")


def add_state_dir_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--state-dir``: which persistent embedded lake (``lakeguard local up``) is meant.

    The help formatter appends the default.
    """
    from lakeguard.config import LOCAL_STATE_DIR

    parser.add_argument("--state-dir", metavar="DIR", type=Path, default=Path(LOCAL_STATE_DIR),
                        help=what)


def dataset_name(value: str) -> str:
    """An argparse type: a shipped dataset contract's name, or an error listing them."""
    from lakeguard.contracts.loader import list_contracts

    known = list_contracts()
    if value in known:
        return value
    lower = {name.lower(): name for name in known}
    if value.lower() in lower:
        return lower[value.lower()]
    raise argparse.ArgumentTypeError(
        f"no dataset {value!r} (known: {', '.join(known)}); a dataset is a contract in datasets/")


def existing_dir(value: str) -> Path:
    """An argparse type: a folder that exists (an exported lake, a data folder)."""
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{value} is not a folder; point it at a lake exported by `lakeguard demo` or "
            "`lakeguard local run --export DIR`")
    return path


def utc_date(value: str) -> datetime:
    """An argparse type: an ISO date or date-time, read as UTC when it names no zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO date; write 2026-12-01 or 2026-12-01T08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def positive_int(value: str) -> int:
    """An argparse type: a whole number above zero."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return number


def resolve_name(value: str, known: list[str], what: str) -> str:
    """``value`` among ``known``, ignoring case, or a :class:`UsageError` listing ``known``."""
    if value in known:
        return value
    matches = [name for name in known if name.casefold() == value.casefold()]
    if len(matches) == 1:
        return matches[0]
    shown = ", ".join(sorted(known)[:40]) + (", ..." if len(known) > 40 else "")
    raise UsageError(f"no {what} {value!r} (known: {shown or 'none'}); check the spelling")
