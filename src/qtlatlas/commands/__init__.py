"""The subcommands of ``qtlatlas``: each module adds its parsers and runs them."""
