"""Glue shared by the Snakemake scripts: logging to the rule's log file and one-line errors."""

from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from typing import Any, Callable

from ..errors import InputError


def script_main(func: Callable[[Any], None]) -> Callable[[Any], None]:
    """Run a script body with stdout/stderr going to ``snakemake.log[0]``.

    Bad input (:class:`InputError`) ends the job with one line in the log and on the console;
    anything else is a bug and keeps its traceback in the log. A rule that passes ``params.data`` (the data
    notice's caption: every plotting rule does) draws in the shared figure style, and every figure it saves
    carries the data tag (:func:`usvflow.figures.style.script_figures`).
    """

    @functools.wraps(func)
    def wrapper(smk: Any) -> None:
        log_path = smk.log[0] if len(smk.log) else None
        console = sys.stderr
        with contextlib.ExitStack() as stack:
            if log_path:
                log = stack.enter_context(open(log_path, "w"))
                stack.enter_context(contextlib.redirect_stdout(log))
                stack.enter_context(contextlib.redirect_stderr(log))
            caption = getattr(smk.params, "data", None) if hasattr(smk, "params") else None
            if isinstance(caption, str):
                from ..figures.style import script_figures  # matplotlib only for scripts that draw

                stack.enter_context(script_figures(caption))
            try:
                func(smk)
            except InputError as err:
                print(f"usvflow: {err}", file=sys.stderr)
                print(f"usvflow: {err}", file=console)
                sys.exit(1)
            except Exception:
                traceback.print_exc()
                raise

    return wrapper
