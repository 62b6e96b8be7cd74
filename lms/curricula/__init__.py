"""Curricula: the programme, framework and figures files in `curricula/`, validated and loaded."""
