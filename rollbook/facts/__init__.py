"""pyinfra facts of rollbook: small typed FactBase classes, one module per concern."""
