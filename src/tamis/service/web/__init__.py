"""The review page: sign-in, queues, one item at a time, decisions (``/review``)."""
