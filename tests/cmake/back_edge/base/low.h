// A base-layer header that includes a data-layer header: the back edge the
// layer check must reject (tests/cmake/README.md).
#include "core/data/high.h"
