"""Step 1b, what the tracked wallets did: the tracker (one poll stored exactly once), the tracked
KOLs, their positions rebuilt from trades, and the KOL statistics and forecasts built on them."""
