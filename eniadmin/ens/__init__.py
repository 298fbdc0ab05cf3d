"""The ENS (Edge Node Service) API: a signed client, its errors, and an emulator beside it.

No Django imports here: the client and the emulator run and are tested on their own.
"""
