"""Accounts: users, roles, sign-in, invitations and password resets."""
