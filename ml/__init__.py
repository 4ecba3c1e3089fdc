"""Pure learning code: arrays, DataFrames and feature names; no wallets, chats or databases."""
