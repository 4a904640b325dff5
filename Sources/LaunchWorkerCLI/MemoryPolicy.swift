import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How the worker's allocator treats freed memory.
enum MemoryPolicy {
    /// `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` from glibc's <malloc.h>.
    private static let trimThreshold: Int32 = -1
    private static let mmapThreshold: Int32 = -3

    /// Keeps freed memory for reuse instead of handing it back to the kernel at once.
    ///
    /// glibc returns a freed block of a megabyte or so to the kernel (its mmap threshold and
    /// heap trimming), so a worker that reads a 1 MiB input per request faults the same pages in
    /// again for every request: 22% of a profile of `bench` with a 1 MiB url input, and half its
    /// throughput. Blocks under 32 MiB now come from the heap, and up to 64 MiB of free heap is
    /// kept. `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_` in the environment wins.
    static func keepFreedMemoryForReuse() {
        #if canImport(Glibc)
            let environment = ProcessInfo.processInfo.environment
            guard environment["MALLOC_MMAP_THRESHOLD_"] == nil, environment["MALLOC_TRIM_THRESHOLD_"] == nil else {
                return
            }
            // mallopt is in <malloc.h>, which Glibc's module does not import.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
            _ = mallopt(mmapThreshold, 32 << 20)
            _ = mallopt(trimThreshold, 64 << 20)
        #endif
    }
}
