"""What each handler does: read the world, build the desired objects, converge, report status."""
