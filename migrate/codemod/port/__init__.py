"""The SDK port (FLM2xx): legacy google-generativeai / vertexai code rewritten to google-genai.

Generated code names the new modules through placeholders (`__flm_genai__`, `__flm_types__`,
`__flm_errors__`); the import pass (imports.py) later picks names that do not collide with what
the module binds, renames the placeholders and adds the imports.
"""
