#pragma once
// The meta-schemas bundled with the library (see metaschemas.cpp).
#include <string_view>

namespace pipekit::jsonschema {

// The meta-schema whose $id is `uri` (without a fragment), or nullptr.
const std::string_view* bundled_metaschema(std::string_view uri);

}  // namespace pipekit::jsonschema
