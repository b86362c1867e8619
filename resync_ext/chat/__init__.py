"""The chat turn: frames, the turn service, and the background audit of fresh memories."""
