"""Staff accounts: users of an organisation, invitations, sign-in with a password and TOTP,
server-side web sessions, CSRF tokens, throttling and the account event records."""
