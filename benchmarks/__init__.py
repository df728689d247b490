"""Speed and memory benchmarks (not tests): ``python -m benchmarks`` runs them all,
``python -m benchmarks.<name>`` one. Each prints absolute figures with the machine named and a
ratio against a peer measured in the same run."""
