"""Learners' reports that a lesson section or a question "looks wrong", and the admins' queue
where each is closed with a note of what was done."""
