"""The external repositories Ember's targets need, for a workspace that uses Ember as @ember.

    load("@ember//:deps.bzl", "ember_dependencies")
    ember_dependencies()

They are Debian's -dev packages under /usr (glib, libelf, libffi, Zydis), as in Ember's own WORKSPACE. A
repository the caller has declared already is left alone.
"""

def ember_dependencies():
    for name in ["glib", "libelf", "libffi", "zydis"]:
        if name not in native.existing_rules():
            native.new_local_repository(
                name = name,
                path = "/usr",
                build_file = "@ember//third_party/system:%s.BUILD" % name,
            )
