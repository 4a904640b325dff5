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
        let folder = destination.deletingLastPathComponent()
        let temporary = (temporaryFolder ?? folder)
            .appending(path: ".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableWriteError(destination, "cannot create a file in \(folder.path)") }
        do throws(DurableWriteError) {
            try writeAll(bytes, to: fd, destination: destination)
            guard !sync || fsync(fd) == 0 else { throw DurableWriteError(destination, "fsync failed") }
            close(fd)
            guard rename(temporary.path, destination.path) == 0 else {
                throw DurableWriteError(destination, "cannot rename it into place")
            }
        } catch {
            close(fd)
            unlink(temporary.path)
            throw error
        }
        if sync { try syncFolder(folder) }
    }

    /// fsyncs a folder, making the creations and renames in it durable.
    public static func syncFolder(_ folder: URL) throws(DurableWriteError) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableWriteError(folder, "cannot open the folder to fsync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DurableWriteError(folder, "fsync of the folder failed") }
    }

    private static func writeAll(
        _ bytes: some Collection<UInt8>, to fd: Int32, destination: URL
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

    init(_ file: URL, _ what: String, errno code: Int32 = errno) {
        path = file.path
        reason = "\(what): \(String(cString: strerror(code)))"
    }

    public var description: String { "cannot write \(path): \(reason)" }
}
