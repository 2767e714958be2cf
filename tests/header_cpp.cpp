// dsv3.h must compile as C++ with C linkage for every symbol.
#include "dsv3.h"

int header_cpp_probe();
int header_cpp_probe() {
    dsv3_context_params params;
    dsv3_context_default_params(&params);
    const char *(*name)(int32_t) = &dsv3_status_string;
    return static_cast<int>(params.struct_size) + (name != nullptr);
}
