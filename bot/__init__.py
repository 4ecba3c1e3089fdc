"""moonbot's faces: CLI, console chat, Discord, Telegram. They call engine.service only."""
