"""Loggers that write INFO lines in every runtime (AWS's, LocalStack's executor, tests) and structured events."""

from __future__ import annotations

import json
import logging
from typing import Any

from payproc.http import json_default


def get_logger(name: str) -> logging.Logger:
    """A logger at INFO; adds a stderr handler only when the runtime installed none on the root logger."""
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(levelname)s %(name)s %(message)s")
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    return logger


def log_event(logger: logging.Logger, event: str, **fields: Any) -> None:
    """Log one JSON line {"event": ..., **fields}; callers pass only card-free fields (brand and last four at most)."""
    logger.info(json.dumps({"event": event, **fields}, default=json_default, sort_keys=True))
