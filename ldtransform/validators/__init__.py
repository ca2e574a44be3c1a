"""Built-in custom validators, registered like plugins under ``ldtransform.validators``."""
