"""Assessments: question types, attempts with snapshots, server-side grading, item statistics."""
