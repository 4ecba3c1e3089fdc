"""HTTP plumbing shared by the real data sources (Solana RPC, DexScreener).

``ratelimit``: a token bucket (requests per second). ``retry``: jittered exponential backoff that
honours ``Retry-After``. ``redact``: URLs fit for logs and errors, and the transport that keeps an
API key in the URL out of both. ``http``: ``HttpSource``, the base of both clients, which owns the
``httpx.AsyncClient``, the limiter and the retrier. Nothing here knows about Solana or DexScreener.
"""
