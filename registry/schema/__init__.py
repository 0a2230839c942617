"""The registry's schema: migration sets, and opening a registry with them applied."""
