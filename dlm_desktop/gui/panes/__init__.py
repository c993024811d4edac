"""The window's panes: document editor, outline, diagnostics, training mix, and the places kept for later ones."""
