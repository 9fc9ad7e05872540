"""Referrals (入居相談, issue 5): holds, transitions, snapshots, stalls and signed webhooks."""
