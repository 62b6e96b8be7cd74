"""The organisation: its time zone and working-day calendar, teams and regions, cohorts and
enrolments."""
