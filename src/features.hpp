// features: what this build of kakuri has, for what it prints (--version, --dry-run, kakuri
// config) and for the code that would use it. Pure.
#pragma once

namespace kakuri {

// Whether this build has the default seccomp filter: meson -Dseccomp=enabled (the default)
// builds it in, -Dseccomp=disabled leaves it out.
bool seccomp_available();

// What a build without the filter says about it: in --dry-run, kakuri config, --version (meson
// adds it to the version) and on stderr when a container starts.
extern const char* const kNoFilterNote;

// Whether this build has images (meson -Dimages): kakuri image and --image.
bool images_available();
extern const char* const kNoImagesNote;

}  // namespace kakuri
