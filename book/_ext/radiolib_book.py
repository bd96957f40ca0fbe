"""Sphinx fixes for the radiolib book (loaded from _config.yml: sphinx.local_extensions).

- Drop repeated ``<script>`` entries. With Sphinx 7, sphinx-thebe's inline configuration
  script (``const THEBE_JS_URL = ...``) ends up twice in every page (added again at another
  priority), and the second copy
  throws "Identifier 'THEBE_JS_URL' has already been declared" in the browser.
"""

from __future__ import annotations


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # the same file or inline body, whatever its priority ("" and None both mean inline)
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {})
        key = (str(filename), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    """Register the fixes."""
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
