"""Certificates for passed stages: issued at promotion, verifiable in public by their code,
revocable by admins, expiring when a programme's major version changes, exported as PDF and as
an Open Badges 3.0 credential."""
