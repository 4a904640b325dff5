// libzstd's streaming API (ZSTD_compressStream2, ZSTD_decompressStream) for .bundle files.
// zstd.h imports into Swift as it is; this header only names it for the module map.
#ifndef LAUNCH_WORKER_CZSTD_SHIM_H
#define LAUNCH_WORKER_CZSTD_SHIM_H

#include <zstd.h>

#endif
