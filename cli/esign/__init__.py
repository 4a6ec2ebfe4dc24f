"""`esign`: start, follow, download, cancel, list and verify signings from a terminal (cli.py), through the
signing API (client.py), on the offline stack or a deployed one (targets.py)."""
