"""Rebuilding the models tamis trains itself (``tamis train ...``). Needs the ``train`` extra."""
