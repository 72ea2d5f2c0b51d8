"""CLI agents people ship, installed into the task image and run there (`--agent opencode`)."""
