"""matplotlib figures written to PNG bytes: the shared style (``base``), model evaluation
(``evaluation``) and insights (``insights``). Never pyplot."""
