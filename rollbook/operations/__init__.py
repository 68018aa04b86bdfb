"""pyinfra operations of rollbook: generators that yield commands only when the host differs."""
