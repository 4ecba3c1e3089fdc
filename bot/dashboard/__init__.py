"""`moonbot dashboard`: a read-only web page of what moonbot knows (see ``bot.dashboard.app``)."""
