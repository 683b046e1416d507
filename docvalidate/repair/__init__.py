"""Repair: fixers propose new code for a failing example; every proposal runs through the
same runner; the intent guard decides whether it still teaches what the original did."""
