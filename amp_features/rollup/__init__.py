"""Roll windows: carry the 60-day window state from one as-of date to the next, and turn it
into the five feature groups."""
