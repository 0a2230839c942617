"""Publishing: the atomic build-check-rename, Datasette serving, the demo."""
