"""Execution backends: they only know how to run code; sessions, timeouts policy, expected
exceptions and reporting are decided above them (docvalidate.runner)."""
