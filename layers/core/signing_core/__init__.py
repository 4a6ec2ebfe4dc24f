"""The shared core of the signing integration: imported by every function, so it imports nothing itself."""
