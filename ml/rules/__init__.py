"""Pattern mining: conditions and conjunctions whose outcome rates differ from the base rate,
with intervals (``miner.mine_patterns`` is the entry point)."""
