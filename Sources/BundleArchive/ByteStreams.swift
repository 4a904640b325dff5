import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where bytes go in a streaming pipeline (a file, a compressor, a hasher).
public protocol ByteSink: AnyObject {
    /// Takes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Where bytes come from in a streaming pipeline (a file, a decompressor).
public protocol ByteSource: AnyObject {
    /// Fills the start of `buffer` and returns how many bytes it wrote; 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// The size of the chunks bytes move in: large enough for few system calls, small enough
/// that memory stays flat whatever the file's size.
let chunkSize = 1 << 20

/// A file opened for streaming, closed when released.
public final class FileStream: ByteSink, ByteSource {
    private let descriptor: Int32
    /// The file, for errors.
    public let path: String
    private let bundle: String

    /// Opens `path` for reading.
    public static func reading(_ path: String, bundle: String) throws -> FileStream {
        try FileStream(path: path, flags: O_RDONLY | O_CLOEXEC, mode: 0, bundle: bundle)
    }

    /// Creates `path`, which must not exist yet (and is never followed through a link).
    public static func creating(_ path: String, mode: mode_t = 0o644, bundle: String) throws -> FileStream {
        try FileStream(
            path: path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: mode, bundle: bundle)
    }

    private init(path: String, flags: Int32, mode: mode_t, bundle: String) throws {
        let descriptor = open(path, flags, mode)
        guard descriptor >= 0 else {
            throw ArchiveError(.io, bundle: bundle, reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        self.path = path
        self.bundle = bundle
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw failure("cannot read") }
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("cannot write")
            }
            offset += count
        }
    }

    /// Makes what was written durable.
    public func sync() throws {
        guard fsync(descriptor) == 0 else { throw failure("cannot sync") }
    }

    /// The file's size now.
    public func size() throws -> UInt64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure("cannot stat") }
        return UInt64(info.st_size)
    }

    private func failure(_ what: String) -> ArchiveError {
        ArchiveError(.io, bundle: bundle, reason: "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// A sink that only counts and hashes (for verifying an archive without writing it out).
final class DiscardingSink: ByteSink {
    func write(_ bytes: UnsafeRawBufferPointer) throws {}
}

/// Reads `source` to its end in chunks, handing each to `body`.
func forEachChunk(of source: ByteSource, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
    defer { buffer.deallocate() }
    while true {
        let count = try source.read(into: buffer)
        if count == 0 { return }
        try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }
}
