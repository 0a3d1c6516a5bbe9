/* aihw umbrella header: include this to use the whole public API. */
#ifndef AIHW_H
#define AIHW_H

#include "aihw/common.h"
#include "aihw/cuda.h"
#include "aihw/io_params.h"
#include "aihw/nn.h"
#include "aihw/tile.h"

#endif
