"""Hash banks: collections of hashes of known content, and matching against them."""

from tamis.banks.signals import SIGNALS, Signal, text_hash
from tamis.banks.store import Bank, BankStore, Entry, SQLiteBankStore

__all__ = ["SIGNALS", "Signal", "text_hash", "Bank", "BankStore", "Entry", "SQLiteBankStore"]
