"""Qt item models that adapt core objects (document reports, mix previews) for Qt views."""
