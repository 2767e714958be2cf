/* dsv3.h must compile on its own as strict C99. */
#include "dsv3.h"

int header_c99_probe(void);
int header_c99_probe(void) {
    dsv3_model_params params;
    dsv3_model_default_params(&params);
    return (int)params.struct_size + DSV3_OK;
}
