"""Steps 6-7, learning from how signals ended: outcome labels, training and promotion, data
files, model operations, insights, the weekly report and the walk-forward backtest."""
