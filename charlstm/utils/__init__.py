"""Small helpers every part uses: argument checks and atomic file writes."""
