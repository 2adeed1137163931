"""The engine: Redis keys, Lua scripts, the operations on them and the store that runs them."""
