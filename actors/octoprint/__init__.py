"""Printer connections to OctoPrint: the pure mapping of its answers, an async HTTP client, and (on the
leader) one connection actor per connected printer."""
