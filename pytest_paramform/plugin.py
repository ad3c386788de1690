"""The pytest skin (entry point ``pytest11``); it must stay cheap to import."""
