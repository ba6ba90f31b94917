// features: KAKURI_HAVE_SECCOMP (meson.build) as the rest of kakuri asks it.
#include "features.hpp"

namespace kakuri {

bool seccomp_available() {
    return KAKURI_HAVE_SECCOMP != 0;
}

bool images_available() {
    return KAKURI_HAVE_IMAGES != 0;
}

const char* const kNoImagesNote =
    "this kakuri was built without images (kakuri image, --image; meson -Dimages=enabled)";

const char* const kNoFilterNote = "this kakuri was built without the seccomp filter";

}  // namespace kakuri
