"""Sub-commands of `residual-mlp`: each module has HELP, add_arguments(parser) and run(args) -> int."""
