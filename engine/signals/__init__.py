"""Steps 2-5, a signal's life up to its alert: opening a signal on a KOL buy, the features at
signal time and their inputs, narratives, scoring, the conviction score, and the alerts outbox."""
