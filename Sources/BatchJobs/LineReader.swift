#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file descriptor's lines a 64 KiB block at a time; a line keeps no `\n` (nor the `\r`
/// of a `\r\n`). Only the current block and line are in memory.
public final class LineReader {
    private let fd: Int32
    private let name: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    private var number = 0

    /// Reads `fd`, which it closes when it goes, naming it `name` in errors.
    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    deinit {
        close(fd)
    }

    /// The next line and its number (from 1), or nil at the end.
    ///
    /// - Throws: ``BatchInputError`` when reading fails.
    public func next() throws(BatchInputError) -> (Int, [UInt8])? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var end = newline
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                number += 1
                return (number, line)
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                number += 1
                return (number, line)
            }
            try fill()
        }
    }

    private func fill() throws(BatchInputError) {
        buffer.removeSubrange(0..<start)
        start = 0
        let block = 1 << 16
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: block))
        var count = 0
        repeat {
            count = buffer.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress! + old, block) }
        } while count < 0 && errno == EINTR
        guard count >= 0 else {
            buffer.removeSubrange(old...)
            throw BatchInputError("\(name): cannot read after line \(number): \(String(cString: strerror(errno)))")
        }
        buffer.removeSubrange((old + count)...)
        if count == 0 { ended = true }
    }
}
