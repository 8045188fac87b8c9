"""Adapters to outside systems (SMTP, web push, OAuth providers, local or S3 storage), one
small interface each, so services never talk to a vendor directly."""
