"""Adapters to outside systems (Paystack, card gateway, SMTP, web push, storage, PDF, OAuth),
one small interface each, so services never talk to a vendor directly."""
