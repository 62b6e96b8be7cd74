"""The learner transcript: the official record of one learner's learning, as a page and a PDF."""
