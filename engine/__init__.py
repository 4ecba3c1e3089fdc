"""moonbot's domain layer: config, storage, data sources, tracker, features, labels, service."""
