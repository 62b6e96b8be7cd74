"""Practical demonstrations: tasks from the curriculum files, learners' submissions with their
evidence (text, links, checklists, files), rubric grading by assessors with moderation, and the
gate requirement "demonstration graded proficient"."""
