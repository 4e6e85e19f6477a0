"""The local preview: the whole bot in a browser, with no Telegram, no token, no network.

`python -m bot preview` runs, in one process, the Bot API stand-in (bot/standin.py, the one
the tests use), the real bot (`build_application` + `running`) pointed at it, and a small web
page on 127.0.0.1 that plays the Telegram app for several invented people (personas).

    settings.py  preview.yaml: the personas, the staff group, the preview's database
    clock.py     the bot's clock as real time plus an offset the page moves forward
    chat.py      what a chat looks like, as JSON for the page, read from the stand-in
    server.py    the process: stand-in + bot + web page, and the page's HTTP API
    static/      the page: plain HTML, CSS and JavaScript (no build step, no CDN)
"""
