"""The learner's side: My path, module pages and lesson progress."""
