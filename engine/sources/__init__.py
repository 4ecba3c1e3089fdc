"""Step 1a, where records come from: the Solana RPC and its parsers (``solana/``), DexScreener,
GeckoTerminal candles (``candles``, read by the labels), address checks, and the HTTP plumbing
they share (``net/``). The embedded market is ``engine.sim``."""
