#if canImport(Glibc)
    import Glibc
#endif

/// Reads and writes ``BatchJobs/ChunkFrames`` frames on a pipe, blocking, whole.
enum FramePipe {
    /// The next frame's payload from `fd`, nil at the end of the pipe or on a read error.
    static func read(_ fd: Int32) -> [UInt8]? {
        guard let header = readExactly(fd, 4) else { return nil }
        let length = header.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return readExactly(fd, length)
    }

    /// Writes `frame` whole to `fd`; false when the pipe is closed or broken.
    static func write(_ frame: [UInt8], to fd: Int32) -> Bool {
        var written = 0
        while written < frame.count {
            let count = frame.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, frame.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            written += count
        }
        return true
    }

    private static func readExactly(_ fd: Int32, _ length: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: length)
        var filled = 0
        while filled < length {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, length - filled) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            filled += count
        }
        return bytes
    }
}
