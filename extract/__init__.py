"""Pure readers: a file goes in, typed records come out. No network, no database."""
