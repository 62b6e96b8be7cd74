"""Cohorts for training managers: create, enrol (one by one, by search, by CSV), bulk actions on
enrolments (withdraw, extend a window, pause and resume the clock), exemptions, extra time."""
