// A data-layer header; including base from here would be allowed.
#include "core/base/low.h"
