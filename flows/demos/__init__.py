"""Parts of ``make demo``: each module defines ``run(settings) -> None`` and an ``ORDER`` int."""
