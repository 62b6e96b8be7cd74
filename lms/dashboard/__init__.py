"""The manager cohort dashboard: progress, stages, risk, scores, the demonstration queue, feature
adoption and business change for the learners in view, with drill-downs and exports."""
