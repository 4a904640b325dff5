import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads whole files with plain system calls into one buffer: no `Data` to copy from, and no
/// URL to build, on the paths every task takes.
///
/// Only regular files are read. A path is opened without blocking, so a named pipe that no one
/// writes to (in the spool's `incoming/`, or named as a task's input) is refused at once instead
/// of holding the reading thread for ever; a device such as `/dev/zero` is refused too.
public enum FileContents {
    /// Why a file was not read.
    public enum Failure: Error, Equatable {
        /// Nothing is at the path.
        case missing
        /// It could not be opened or read (permissions, an I/O error).
        case unreadable
        /// It is a folder, a named pipe, a socket or a device.
        case notRegular
        /// It holds more bytes than the limit: its size.
        case tooLarge(Int)
    }

    /// The bytes of the regular file at `path` and when it was last modified; nil when it cannot
    /// be read.
    public static func read(_ path: String) -> (bytes: [UInt8], modified: Date)? {
        try? read(path, maxBytes: .max)
    }

    /// The size of the regular file at `path`; nil when there is none (nothing, a folder, a pipe).
    /// It neither opens the file nor waits.
    public static func regularFileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    /// The bytes of the regular file at `path`, when it holds at most `maxBytes`, and when it was
    /// last modified.
    public static func read(_ path: String, maxBytes: Int) throws(Failure) -> (bytes: [UInt8], modified: Date) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw errno == ENOENT || errno == ENOTDIR ? .missing : .unreadable }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notRegular }
        guard info.st_size <= maxBytes else { throw .tooLarge(Int(info.st_size)) }
        let modified = Date(
            timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1_000_000_000)
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .unreadable }
            if count == 0 { break }
            filled += count
        }
        if filled < bytes.count { bytes.removeLast(bytes.count - filled) }
        return (bytes, modified)
    }
}
