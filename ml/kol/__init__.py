"""KOL forecasts: beta-binomial empirical Bayes (``betabinom``), per-KOL histories (``history``)
and the learned 3x+ rate predictor (``predictor``)."""
