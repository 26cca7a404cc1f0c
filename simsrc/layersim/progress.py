"""How the core reports progress without printing: a callback the caller passes down.

`progress(stage, fraction)` is called with a short stage name and the fraction done (0 to 1).
The CLI turns the calls into a progress bar; the core never prints.
"""

from collections.abc import Callable

Progress = Callable[[str, float], None]
