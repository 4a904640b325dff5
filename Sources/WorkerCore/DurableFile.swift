import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes files so that they are either absent or whole and on disk, even across a crash or a
/// power loss: write a temporary file, fsync it, rename it into place, fsync the folder.
public enum DurableFile {
    /// Writes `bytes` to `destination` atomically and durably, replacing any file there.
    ///
    /// - Parameters:
    ///   - temporaryFolder: where the temporary file is made (on the same file system);
    ///     by default `destination`'s folder, as a hidden file.
    ///   - sync: whether to fsync; without it the write is still atomic, but not durable.
    /// - Throws: ``DurableWriteError`` naming the file and the system's reason (a read-only
    ///   folder, a full disk); nothing is left at `destination` then.
    public static func write(
        _ bytes: some Collection<UInt8>, to destination: URL, via temporaryFolder: URL? = nil, sync: Bool = true
    ) throws(DurableWriteError) {
        try write(bytes, toPath: destination.path, via: temporaryFolder?.path, sync: sync)
    }

    /// ``write(_:to:via:sync:)`` with plain paths, for hot paths that keep their folders' paths.
    public static func write(
        _ bytes: some Collection<UInt8>, toPath destination: String, via temporaryFolder: String? = nil,
        sync: Bool = true
    ) throws(DurableWriteError) {
        let split = destination.utf8.lastIndex(of: UInt8(ascii: "/")) ?? destination.utf8.startIndex
        let folder = String(destination[..<split])
        let name = String(destination[split...].dropFirst())
        let temporary = "\(temporaryFolder ?? folder)/.\(name).\(RandomID.uuid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableWriteError(destination, "cannot create a file in \(folder)") }
        do throws(DurableWriteError) {
            try writeAll(bytes, to: fd, destination: destination)
            guard !sync || fsync(fd) == 0 else { throw DurableWriteError(destination, "fsync failed") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        // Closed once: a second close could close a descriptor another thread has opened since.
        close(fd)
        guard rename(temporary, destination) == 0 else {
            let error = DurableWriteError(destination, "cannot rename it into place")
            unlink(temporary)
            throw error
        }
        if sync { try syncFolder(atPath: folder) }
    }

    /// fsyncs a folder, making the creations and renames in it durable.
    public static func syncFolder(_ folder: URL) throws(DurableWriteError) {
        try syncFolder(atPath: folder.path)
    }

    private static func syncFolder(atPath folder: String) throws(DurableWriteError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableWriteError(folder, "cannot open the folder to fsync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DurableWriteError(folder, "fsync of the folder failed") }
    }

    /// Writes all of `bytes` to the open file `fd` (short writes and `EINTR` retried); a
    /// failure names `destination`, the file the caller is making.
    public static func writeAll(
        _ bytes: some Collection<UInt8>, to fd: Int32, destination: String
    ) throws(DurableWriteError) {
        let written = bytes.withContiguousStorageIfAvailable { buffer -> Int32 in
            var offset = 0
            while offset < buffer.count {
                let count = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += count
            }
            return 0
        }
        switch written {
        case .none: try writeAll(Array(bytes), to: fd, destination: destination)
        case .some(0): return
        case .some(let code): throw DurableWriteError(destination, "write failed", errno: code)
        }
    }
}

/// A file that could not be written durably.
public struct DurableWriteError: Error, Sendable, CustomStringConvertible {
    /// The file (or folder) being written.
    public var path: String
    /// What failed, with the system's reason.
    public var reason: String

    /// The error of writing `path`: `what` failed, with `code`'s reason.
    public init(_ path: String, _ what: String, errno code: Int32 = errno) {
        self.path = path
        reason = "\(what): \(String(cString: strerror(code)))"
    }

    public var description: String { "cannot write \(path): \(reason)" }
}
