"""`python -m bot preview`: check everything, start the preview, print where it is.

Like `python -m bot`, a mistake a person can fix (a bad or taken port, a wrong setting,
broken content) stops it with one clear line and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path

from bot.config import CONTENT_DIR, ConfigError, load_settings
from bot.content import has_errors
from bot.preview.settings import DEFAULT_FILE, PreviewConfigError, load_preview_config

DEFAULT_PORT = 8080
PORT_VARIABLE = "PREVIEW_PORT"
# Variables the preview must not take from the environment: it never talks to Telegram,
# and a live token (even a mistyped one) has nothing to do with it.
LIVE_ONLY = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL")


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints the usage and then the error; the operator gets one line instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message} (see python -m bot preview --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m bot preview",
        description=(
            "Try the bot in a browser without Telegram: the real bot against a local Bot API "
            "stand-in, with personas, a movable clock and content reload."
        ),
    )
    parser.add_argument(
        "--port",
        help=f"the page's port on 127.0.0.1 (default: ${PORT_VARIABLE}, else {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--content", type=Path, default=CONTENT_DIR, metavar="DIR",
        help="the content folder to show and reload (default: the repository's content/)",
    )
    parser.add_argument(
        "--preview-config", type=Path, default=DEFAULT_FILE, metavar="FILE",
        help="personas, staff group and database of the preview (default: preview.yaml)",
    )
    return parser


def parse_port(value: str | None, source: str) -> int:
    if value is None or not re.fullmatch(r"[0-9]{1,5}", value.strip()) or int(value) > 65535:
        raise ValueError(f"{source} must be a port number from 0 to 65535 (got {value!r})")
    return int(value)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.port is not None:
            port = parse_port(args.port, "--port")
        elif os.environ.get(PORT_VARIABLE, "").strip():
            port = parse_port(os.environ[PORT_VARIABLE], PORT_VARIABLE)
        else:
            port = DEFAULT_PORT
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from bot import logs
    from bot.preview.server import PreviewError

    try:
        preview = build_preview(dict(os.environ), preview_config=args.preview_config, content_dir=args.content, port=port)
    except PreviewError as error:
        for line in error.details:
            print(line, file=sys.stderr)
        print(f"error: {error}", file=sys.stderr)
        return 2
    logs.configure(None)
    return asyncio.run(_serve(preview))


def build_preview(env: dict[str, str], *, preview_config: Path, content_dir: Path, port: int):
    """Everything checked, nothing started: the Preview, or PreviewError with one line.

    The tests build their previews here too, so they run what the command runs.
    """
    from bot.check import placeholders_for, run_checks
    from bot.content import load_content
    from bot.preview.server import Preview, PreviewError
    from bot.storage import prepare_file

    env = {key: value for key, value in env.items() if key not in LIVE_ONLY}
    try:
        settings = load_settings(env, require_token=False)
        config = load_preview_config(preview_config)
    except (ConfigError, PreviewConfigError) as error:
        raise PreviewError(str(error)) from None
    if config.database.resolve() == settings.database.resolve():
        raise PreviewError(
            f"{preview_config}: database is {config.database}, the live bot's database: "
            "give the preview a file of its own"
        )
    # The same check `python -m bot check` runs: the preview never shows content the live
    # bot's check would refuse.
    content_dir = content_dir.resolve()
    problems = run_checks(env, content_dir)
    content, load_problems = load_content(content_dir, placeholders_for(settings))
    if has_errors(problems) or content is None or has_errors(load_problems):
        shown = problems if has_errors(problems) else load_problems
        raise PreviewError(
            "the content has problems; fix them and start the preview again",
            details=[str(problem) for problem in shown],
        )
    try:
        prepare_file(config.database)
    except OSError as error:
        raise PreviewError(f"database {config.database}: cannot create it ({error.strerror})") from None
    settings = replace(settings, content_dir=content_dir)
    return Preview(settings, config, content, port=port, check_env=env, content_warnings=problems)


async def _serve(preview) -> int:
    from bot.preview.server import PreviewError

    try:
        await preview.start()
    except PreviewError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Preview running at {preview.url} - open it in a browser; Ctrl+C stops it.", flush=True)
    print(
        "To go live on Telegram: get a token from @BotFather, export TELEGRAM_BOT_TOKEN=<token>, "
        "then run `make run` again (README: Get a token).",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await preview.stop()
    return 0
