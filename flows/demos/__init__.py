"""The parts of ``make demo``; they print on this one console, which keeps the terminal
while the libraries' output goes to the demo's log file (:mod:`flows.logs`)."""

from rich.console import Console

console = Console(soft_wrap=True)
