"""Timers are rows: when one falls due (`plan`), every statement on the table (`rows`), and what to do with one
that is due (`decision`). The sweep that fires them lives in `engine.background`."""
