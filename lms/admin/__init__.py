"""Administration: users and roles, teams, the organisation's calendar, curricula, audit log."""
