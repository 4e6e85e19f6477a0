"""One module per conversation. Each exposes `handlers(services)`; `bot/app.py` adds them
in order. Flows never import each other: what two flows share lives in `bot/`."""
