"""An HTTP emulator of the Alibaba Cloud ENS OpenAPI (2017-11-10, RPC style), so the dashboard
and the official SDKs can run without a cloud account. See docs/emulator.md.
"""
