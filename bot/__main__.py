"""Command line: `python -m bot` runs the bot, `python -m bot check` validates everything,
`python -m bot preview` shows the bot in a browser without Telegram (bot/preview/).

`run` never falls back to the preview: without a token it stops and says so, because an
operator who meant to go live must not end up with a bot that only runs on their machine.

A wrong setting or broken content stops the program with one clear line per problem and
exit code 2 — never a traceback for a mistake a person can fix.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from bot.config import ConfigError, load_settings
from bot.content import load_content

log = logging.getLogger("bot")

USAGE = "usage: python -m bot [run | check | preview [--port N] [--content DIR] [--preview-config FILE]]"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if command == "check":
        from bot.check import main as check_main

        return check_main()
    if command == "run":
        return run()
    if command == "preview":
        from bot.preview.cli import main as preview_main

        return preview_main(argv[1:])
    print(USAGE, file=sys.stderr)
    return 2


def run() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from telegram.error import InvalidToken, NetworkError

    from bot import logs
    from bot.app import ALLOWED_UPDATES, build_application
    from bot.check import placeholders_for, run_checks
    from bot.services import Services
    from bot.storage import prepare_file

    # The whole check, as `python -m bot check` runs it: a live bot never sends content that
    # makes a banned claim or that Telegram would refuse.
    problems = [problem for problem in run_checks(dict(os.environ)) if not problem.warning]
    content, _ = load_content(settings.content_dir, placeholders_for(settings))
    if problems or content is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print("error: the content has problems; fix them (python -m bot check lists them)", file=sys.stderr)
        return 2
    try:
        prepare_file(settings.database)
    except OSError as error:
        print(f"error: database {settings.database}: cannot create it ({error.strerror})", file=sys.stderr)
        return 2

    logs.configure(settings.token)
    if settings.config_path.name == "config.example.yaml":
        log.warning(
            "using config.example.yaml: patients will see the EXAMPLE clinic's name and phone; "
            "copy it to config.yaml and edit it, or set BOT_CONFIG"
        )
    application = build_application(Services(settings=settings, content=content))
    try:
        # run_polling stops cleanly on SIGINT and SIGTERM (what a platform sends on deploy).
        # A failed poll goes to the error handler (bot/errors.py): no traceback, and an
        # outage is logged once, when it starts and when it ends (bot/logs.py).
        application.run_polling(allowed_updates=ALLOWED_UPDATES, stop_signals=(signal.SIGINT, signal.SIGTERM))
    except InvalidToken:
        # PTB's message quotes the token; ours must not.
        print("error: Telegram rejected TELEGRAM_BOT_TOKEN: copy it again from @BotFather", file=sys.stderr)
        return 2
    except NetworkError as error:
        reason = str(error).replace(settings.token or "", "<token>")
        print(f"error: cannot reach the Bot API at {settings.base_url} ({reason}); "
              "it will work once the network is back: let a supervisor restart the bot", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
