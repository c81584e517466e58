"""The docker layer: the only package that imports the Docker SDK."""
