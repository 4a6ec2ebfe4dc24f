"""Verification of signed PAdES documents with pyHanko: the verdict (verdict.py), and the check of every
PAdES stored under signed/ (stored.py). Only the verification function and the `esign verify` command load it.
"""
