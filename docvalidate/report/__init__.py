"""Pure functions from results to text and JSON (later JUnit, SARIF, GitHub, HTML)."""
