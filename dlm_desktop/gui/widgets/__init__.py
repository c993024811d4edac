"""Small reusable widgets (weight slider rows, the message banner, the drop overlay, pending panes)."""
