"""`make bench`: performance figures as tables (targets live here, never in timed tests)."""
