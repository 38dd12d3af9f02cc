"""Managers for testing the suite itself: correct ones that differ from the reference, and
broken ones with one subtle bug each."""
