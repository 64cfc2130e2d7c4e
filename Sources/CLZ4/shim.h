#ifndef SKIFF_CLZ4_SHIM_H
#define SKIFF_CLZ4_SHIM_H
#include <lz4.h>
#endif
