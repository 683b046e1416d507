"""Turn a file's bytes into Examples. Each module here knows nothing about running them."""
