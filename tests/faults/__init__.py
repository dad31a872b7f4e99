"""Jepsen-style fault suite: nemeses, recorded histories, and our own linearizability checker."""
