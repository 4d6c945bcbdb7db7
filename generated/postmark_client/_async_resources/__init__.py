# Copied by postmark-codegen from templates/static/postmark_client/_async_resources/__init__.py;
# edit it there and regenerate, not here.
"""The groups of the async clients, one module per group of the spec (`_email`, `_bounces`, ...).

A client imports a group's module the first time the group is used (`client.email`), so a
program pays only for the groups it calls. The modules are generated from the spec.
"""
